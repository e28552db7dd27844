#pragma once
// Licence notes of several models as one (models/bundle.hpp's licence_note for an ensemble's
// members, models/weight_average.hpp for a weight average's sources).
#include <string>
#include <vector>

namespace faceage::models {

// Each distinct non-empty note once, in order, joined by " | "; empty when none has a note.
std::string join_licence_notes(const std::vector<std::string>& notes);

}  // namespace faceage::models
