#include "faceage/train/early_stopping.hpp"

#include <cmath>
#include <limits>

#include "faceage/core/check.hpp"
#include "train/config_keys.hpp"

namespace faceage::train {

EarlyStoppingOptions EarlyStoppingOptions::from_config(const Config& c, const std::string& prefix) {
  detail::check_known_keys(c, prefix, {"metric", "mode", "patience", "min_delta"});
  EarlyStoppingOptions o;
  detail::read(c, prefix, "metric", o.metric);
  FACEAGE_CHECK(o.metric == "val_mae" || o.metric == "gender_acc", ErrorCode::kConfig,
                "config key '" << detail::full_key(prefix, "metric") << "' must be val_mae or gender_acc, got '"
                               << o.metric << "'");
  const std::string direction = o.metric == "gender_acc" ? "max" : "min";
  o.mode = direction;
  detail::read(c, prefix, "mode", o.mode);
  FACEAGE_CHECK(o.mode == direction || (o.mode != "min" && o.mode != "max"), ErrorCode::kConfig,
                "config key '" << detail::full_key(prefix, "mode") << "' is '" << o.mode << "' but " << o.metric
                               << " improves the other way ('" << direction << "'); leave the mode out");
  detail::read(c, prefix, "patience", o.patience);
  detail::read(c, prefix, "min_delta", o.min_delta);
  o.validate(prefix);
  return o;
}

void EarlyStoppingOptions::validate(const std::string& prefix) const {
  FACEAGE_CHECK(mode == "min" || mode == "max", ErrorCode::kConfig,
                "config key '" << detail::full_key(prefix, "mode") << "' must be min or max, got '" << mode << "'");
  FACEAGE_CHECK(patience >= 0, ErrorCode::kConfig,
                "config key '" << detail::full_key(prefix, "patience") << "' must be >= 0 (0 = off), got " << patience);
  FACEAGE_CHECK(std::isfinite(min_delta) && min_delta >= 0.0, ErrorCode::kConfig,
                "config key '" << detail::full_key(prefix, "min_delta") << "' must be >= 0, got " << min_delta);
}

EarlyStopping::EarlyStopping(const EarlyStoppingOptions& options)
    : options_(options), best_(std::numeric_limits<double>::quiet_NaN()) {
  options_.validate();
}

bool EarlyStopping::update(double metric, int64_t epoch) {
  improved_ = false;
  if (std::isfinite(metric)) {
    if (!has_best()) {
      improved_ = true;
    } else if (options_.mode == "min") {
      improved_ = metric < best_ - options_.min_delta;
    } else {
      improved_ = metric > best_ + options_.min_delta;
    }
  }
  if (improved_) {
    best_ = metric;
    best_epoch_ = epoch;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  return should_stop();
}

bool EarlyStopping::should_stop() const { return options_.patience > 0 && bad_epochs_ >= options_.patience; }

nlohmann::json EarlyStopping::state() const {
  nlohmann::json s;
  s["mode"] = options_.mode;
  s["best"] = has_best() ? nlohmann::json(best_) : nlohmann::json(nullptr);
  s["best_epoch"] = best_epoch_;
  s["bad_epochs"] = bad_epochs_;
  s["improved"] = improved_;
  return s;
}

void EarlyStopping::load_state(const nlohmann::json& s) {
  try {
    const auto mode = s.at("mode").get<std::string>();
    if (mode != options_.mode) {
      throw Error(ErrorCode::kConfig, "the checkpoint's early stopping mode is '" + mode + "' but the config says '" +
                                          options_.mode + "'",
                  "resume with early_stopping.mode=" + mode);
    }
    const auto& best = s.at("best");
    best_ = best.is_number() ? best.get<double>() : std::numeric_limits<double>::quiet_NaN();
    best_epoch_ = s.at("best_epoch").get<int64_t>();
    bad_epochs_ = s.at("bad_epochs").get<int64_t>();
    improved_ = s.at("improved").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kModel, std::string("early stopping state is malformed: ") + e.what(),
                "the checkpoint is damaged or from another version");
  }
}

}  // namespace faceage::train
