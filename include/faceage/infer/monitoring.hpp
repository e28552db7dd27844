#pragma once
// A prediction as the monitor records it: per face the input statistics (the quality assessment's
// own measurements of the aligned crop, so the drift features and the quality score never measure
// differently) and the outputs. Used by the server's prediction log and by reference profiles of a
// model, so a profile and a live window are measured alike by construction.
#include <vector>

#include "faceage/infer/predictor.hpp"
#include "faceage/monitor/face_stats.hpp"

namespace faceage::infer {

monitor::LoggedFace logged_face(const ImagePrediction& image, const FacePrediction& face);
// Every face of a successful image, in answer order (none for a failed image).
std::vector<monitor::LoggedFace> logged_faces(const ImagePrediction& image);

}  // namespace faceage::infer
