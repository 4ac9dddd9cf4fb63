/* SPDX-License-Identifier: MIT */
/* Hex digits; the encoder and decoder are public (include/sealtree/hex.h). */
#pragma once

#include "sealtree/hex.h"

/* Value of one hex digit (either case), or -1. */
int hex_digit_value(char c);
