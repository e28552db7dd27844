#pragma once
// What the prediction log keeps about one face: statistics of the input (never the image) and the
// model's outputs. The input statistics are cheap (a few passes over a face crop) so the predictor
// can compute them for every face it answers; the drift report compares their distributions.
#include <array>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace faceage::monitor {

struct FaceInputStats {
  int image_width = 0, image_height = 0;       // the decoded image, pixels
  double face_width = 0, face_height = 0;      // the detected box, image pixels
  double brightness = 0;     // mean luma of the crop, 0..255
  double contrast = 0;       // standard deviation of that luma (RMS contrast)
  double sharpness = 0;      // variance of the Laplacian of the luma at 128x128 (blur lowers it)
  double colourfulness = 0;  // Hasler & Suesstrunk's M (0 for gray, ~15 dull, >50 vivid)
  bool grayscale = false;    // a one-channel crop, or colourfulness below kGrayscaleColourfulness
  std::optional<double> detector_score;  // as the detector reports it (scales differ by detector)
  std::optional<double> pose;            // yaw proxy from landmarks (face::yaw_proxy)
};

struct FaceOutputs {
  double age = 0;                 // years
  double interval_width = 0;      // years, high - low of the calibrated interval
  double gender_probability = 0;  // probability of "female"
};

struct LoggedFace {
  FaceInputStats input;
  FaceOutputs output;
};

// Below this colourfulness a crop counts as grayscale (a JPEG of a gray photo stays under ~1); the
// quality score's default (face::FaceQualityOptions::colourless) is the same.
inline constexpr double kGrayscaleColourfulness = 2.0;

// Where the crop came from; filled by the caller, which knows the image and the detection.
struct FaceGeometry {
  int image_width = 0, image_height = 0;
  double face_width = 0, face_height = 0;
  std::optional<double> detector_score;
  // Five points in the face module's order: right eye, left eye, nose tip, right and left mouth corner.
  std::optional<std::array<cv::Point2f, 5>> landmarks;
};

// Statistics of a face crop (8-bit BGR, BGRA or gray, as OpenCV decodes) plus the geometry.
// kInvalidArgument for an empty crop or another pixel type.
FaceInputStats measure_face(const cv::Mat& crop, const FaceGeometry& geometry = {});


// The scalar features the drift report watches, each read from a logged face (nullopt: not known
// for this face, e.g. no landmarks). Names are stable: profiles and reports key on them.
struct Feature {
  std::string name;
  std::string description;
  std::optional<double> (*value)(const LoggedFace& face);
};
const std::vector<Feature>& monitored_features();

// Feature name -> the known values over `faces`, in monitored_features() order of names.
std::vector<std::pair<std::string, std::vector<double>>> feature_values(const std::vector<LoggedFace>& faces);

}  // namespace faceage::monitor
