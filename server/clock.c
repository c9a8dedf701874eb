/* clock.c — see clock.h: the one definition of the test-only offset. */
#include "clock.h"

_Atomic double sw_clock_offset = 0;
