#include "faceage/core/registry.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace faceage {

TEST(Registry, CreatesByNameAndListsSortedNames) {
  Registry<int(int)> registry("doubler");
  registry.add("twice", [](int x) { return 2 * x; }, "multiplies by two");
  registry.add("thrice", [](int x) { return 3 * x; });
  EXPECT_EQ(registry.create("twice", 4), 8);
  EXPECT_EQ(registry.create("thrice", 4), 12);
  EXPECT_EQ(registry.names(), (std::vector<std::string>{"thrice", "twice"}));
  EXPECT_EQ(registry.description("twice"), "multiplies by two");
  EXPECT_TRUE(registry.contains("twice"));
  EXPECT_FALSE(registry.contains("once"));
}

TEST(Registry, UnknownNameListsWhatExists) {
  Registry<std::unique_ptr<int>()> registry("model");
  registry.add("resnet18", [] { return std::make_unique<int>(18); });
  registry.add("resnet34", [] { return std::make_unique<int>(34); });
  try {
    registry.create("resnet81");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_STREQ(e.what(), "unknown model 'resnet81'; available: resnet18, resnet34");
  }
}

TEST(Registry, DuplicateRegistrationIsABug) {
  Registry<int()> registry("thing");
  registry.add("a", [] { return 1; });
  EXPECT_THROW(registry.add("a", [] { return 2; }), Error);
}

}  // namespace faceage
