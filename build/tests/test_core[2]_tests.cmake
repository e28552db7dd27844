set(  test_core_TESTS)
