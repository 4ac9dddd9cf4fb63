/* SPDX-License-Identifier: MIT */
#include "basic/test.h"
TEST(placeholder) { ASSERT_TRUE(1); }
TEST_MAIN()
