#include "faceage/train/distill.hpp"

#include <torch/torch.h>

#include <cmath>

#include "faceage/core/check.hpp"
#include "train/config_keys.hpp"

namespace faceage::train {

DistillOptions DistillOptions::from_config(const Config& section, const std::string& prefix) {
  detail::check_known_keys(section, prefix, {"teacher", "weight", "gender_weight", "temperature"});
  DistillOptions o;
  detail::read(section, prefix, "teacher", o.teacher);
  detail::read(section, prefix, "weight", o.weight);
  detail::read(section, prefix, "gender_weight", o.gender_weight);
  detail::read(section, prefix, "temperature", o.temperature);
  auto key = [&](const char* k) { return detail::full_key(prefix, k); };
  FACEAGE_CHECK(std::isfinite(o.weight) && o.weight > 0.0, ErrorCode::kConfig,
                "config key '" << key("weight") << "' must be > 0, got " << o.weight);
  FACEAGE_CHECK(std::isfinite(o.gender_weight) && o.gender_weight >= 0.0, ErrorCode::kConfig,
                "config key '" << key("gender_weight") << "' must be >= 0, got " << o.gender_weight);
  FACEAGE_CHECK(std::isfinite(o.temperature) && o.temperature > 0.0, ErrorCode::kConfig,
                "config key '" << key("temperature") << "' must be > 0, got " << o.temperature);
  return o;
}

torch::Tensor soft_target_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_probs) {
  FACEAGE_CHECK(student_logits.dim() == 2 && student_logits.sizes() == teacher_probs.sizes(), ErrorCode::kInternal,
                "soft targets " << teacher_probs.sizes() << " do not fit the student's logits " << student_logits.sizes());
  const auto log_student = torch::log_softmax(student_logits.to(torch::kFloat), 1);
  const auto teacher = teacher_probs.to(torch::kFloat);
  // xlogy: a teacher probability of exactly 0 contributes 0, not 0·log 0 = NaN.
  return (torch::xlogy(teacher, teacher) - teacher * log_student).sum(1).mean();
}

Distiller::Distiller(const DistillOptions& options, const models::ModelOptions& student,
                     const models::PreprocessSpec& preprocess, const std::string& device)
    : options_(options) {
  auto file = models::load_model_file(options.teacher, device);
  for (auto& member : file.members) {
    const auto& m = member.model_options;
    FACEAGE_CHECK(m.age_head == models::AgeHeadKind::kDistribution && student.age_head == models::AgeHeadKind::kDistribution, ErrorCode::kConfig,
                  "distillation needs distribution heads on the teacher " << options.teacher << " and the student");
    FACEAGE_CHECK(m.min_age == student.min_age && m.max_age == student.max_age, ErrorCode::kConfig,
                  "the teacher " << options.teacher << " has age bins " << m.min_age << ".." << m.max_age
                                 << ", the student " << student.min_age << ".." << student.max_age);
    FACEAGE_CHECK(member.preprocess.input_size == preprocess.input_size && member.preprocess.mean == preprocess.mean &&
                      member.preprocess.std == preprocess.std,
                  ErrorCode::kConfig,
                  "the teacher " << options.teacher << " reads " << member.preprocess.input_size
                                 << " px images normalised otherwise than the student's; both must see the same pixels");
    FACEAGE_CHECK(options.gender_weight == 0.0 || (m.gender_head && student.gender_head), ErrorCode::kConfig,
                  "distill.gender_weight > 0 needs a gender head on the teacher and the student");
    member.model->eval();
    teachers_.push_back(member.model);
  }
}

torch::Tensor Distiller::operator()(const models::ModelOutput& student, const torch::Tensor& images) {
  const double t = options_.temperature;
  torch::Tensor age_probs, gender_probs;
  {
    torch::NoGradGuard no_grad;
    for (auto& teacher : teachers_) {
      const auto out = teacher->forward(images);
      auto age = torch::softmax(out.age_logits.to(torch::kFloat) / t, 1);
      age_probs = age_probs.defined() ? age_probs + age : age;
      if (options_.gender_weight > 0.0) {
        auto gender = torch::softmax(out.gender_logits.to(torch::kFloat) / t, 1);
        gender_probs = gender_probs.defined() ? gender_probs + gender : gender;
      }
    }
    age_probs /= static_cast<double>(teachers_.size());
    if (gender_probs.defined()) gender_probs /= static_cast<double>(teachers_.size());
  }
  auto loss = soft_target_loss(student.age_logits / t, age_probs);
  if (gender_probs.defined()) {
    loss = loss + options_.gender_weight * soft_target_loss(student.gender_logits / t, gender_probs);
  }
  return loss * (options_.weight * t * t);
}

}  // namespace faceage::train
