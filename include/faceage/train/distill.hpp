#pragma once
// Knowledge distillation: a trained teacher (a bundle or an ensemble file, such as the shipped
// default model) gives soft targets for the very images the student is trained on, so one network
// can learn what several networks know (issue "A model that holds up on real photos": one fast
// default). The loss is added to the label loss:
//   weight · T² · [ KL(teacher age distribution ‖ student) + gender_weight · KL(teacher gender ‖ student) ]
// with both distributions softened by the temperature T (Hinton et al. 2015; T² keeps gradient
// sizes comparable across temperatures). Ensemble members' distributions are averaged.
#include <string>
#include <vector>

#include "faceage/core/config.hpp"
#include "faceage/models/bundle.hpp"
#include "faceage/models/model.hpp"

namespace faceage::train {

struct DistillOptions {
  std::string teacher;         // model file (bundle or ensemble); empty: no distillation
  double weight = 1.0;         // λ of the soft-target loss, > 0
  double gender_weight = 1.0;  // weight of the soft gender term (0: age only), >= 0
  double temperature = 1.0;    // > 0

  bool enabled() const { return !teacher.empty(); }
  // Keys under `distill:` named as the fields; unknown keys and bad values are kConfig naming the key.
  static DistillOptions from_config(const Config& section, const std::string& prefix = "distill");
};

// KL(teacher ‖ student) per sample, averaged over the batch: `teacher_probs` [B, K] (rows sum to
// 1), `student_logits` [B, K] at temperature 1 (the caller divides by T).
torch::Tensor soft_target_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_probs);

class Distiller {
 public:
  // Loads the teacher on `device` in eval mode. kConfig when a member's age bins, input size or
  // normalisation differ from the student's (the soft targets would mean other ages or other
  // pixels), or when gender_weight > 0 and the student or a member has no gender head.
  Distiller(const DistillOptions& options, const models::ModelOptions& student,
            const models::PreprocessSpec& preprocess, const std::string& device);
  // The weighted soft-target loss of `student` (the student's output on `images`); a scalar
  // connected to the student's graph. The teacher runs without gradients.
  torch::Tensor operator()(const models::ModelOutput& student, const torch::Tensor& images);
  std::size_t members() const { return teachers_.size(); }

 private:
  DistillOptions options_;
  std::vector<models::AgeGenderModel> teachers_;
};

}  // namespace faceage::train
