#pragma once
// Registration of the built-in backbone families (private to the models module).
#include "faceage/models/model.hpp"

namespace faceage::models::detail {

void register_resnets(BackboneRegistry& registry);        // resnet18, resnet34, resnet50
void register_mobilenet_v2(BackboneRegistry& registry);   // mobilenet_v2
void register_efficientnets(BackboneRegistry& registry);  // efficientnet_b0 .. efficientnet_b4
void register_dlib_resnet(BackboneRegistry& registry);     // dlib_resnet

// ImageNet logits for a backbone built without a classifier: a clear error, not a null deref.
[[noreturn]] void throw_no_classifier(const char* arch);

}  // namespace faceage::models::detail
