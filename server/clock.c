/* clock.c — see clock.h */
#include "clock.h"

_Atomic double sw_clock_skew; /* tests only: see clock.h */
