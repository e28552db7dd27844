#pragma once
// A manifest's aligned face crops written out as small image files with their own manifest, so a
// model can be trained where the original photos are not (a GPU machine reached with a few tens of
// MiB): train there with `data.crops_of` naming the exported face_pipeline.json, and the bundle
// records the pipeline that made the crops, not the "whole image is the face" one the export is
// read with.
//
// Layout of out_dir: images/<row>_<stem>.<format>, manifest.csv (the input's labels and split),
// face_pipeline.json ({"face_pipeline": <the pipeline's JSON>, "crop_size": <exported side>}) and,
// when rows have no face or cannot be read, failures.csv.
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceage/core/context.hpp"
#include "faceage/face/face_pipeline.hpp"

namespace faceage::train {

struct ExportCropsOptions {
  std::string manifest;            // required
  std::string out_dir;             // required
  std::string cache_dir;           // the aligned-crop cache the crops come from (filled when missing)
  face::FacePipelineOptions face;  // the pipeline that makes the crops
  int size = 0;                    // side of the written crops; 0: the pipeline's crop_size
  std::string format = "jpg";      // jpg, webp or png
  int quality = 90;                // jpg and webp: 1..100
  int threads = 0;                 // 0: the context's threads
  int progress = -1;               // progress bar: -1 on a terminal, 0 never, 1 always
};

struct ExportCropsReport {
  std::size_t rows = 0, written = 0, failed = 0;
  std::uintmax_t bytes = 0;  // of the written images
  std::vector<std::pair<std::string, std::string>> failures;  // file, reason
  std::string manifest_path, pipeline_path, failures_path;
  double seconds = 0;
};

ExportCropsReport export_crops(const ExportCropsOptions& options, const Context& context);

// What a crop export's face_pipeline.json says: the pipeline to record in bundles, and the
// options that read the exported images as they are (detector none at the exported side).
struct ExportedCrops {
  nlohmann::json recorded_pipeline;
  face::FacePipelineOptions read_options;
};
ExportedCrops read_exported_crops(const std::string& face_pipeline_json);

}  // namespace faceage::train
