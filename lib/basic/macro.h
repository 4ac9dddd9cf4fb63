/* SPDX-License-Identifier: MIT */
/* The language helpers live in lib/fundamental/ so that tools/ can use them too. */
#pragma once

#include "fundamental/macro.h"
