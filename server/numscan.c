/* numscan.c — the constant table of numscan.h: 128-bit normalised powers of five for the
 * Eisel–Lemire conversion of reals, 5^-22 .. 5^22. Generated with Python's integers:
 *   q < 0:  p = 5**-q; z = p.bit_length() (z - 1 when p is a power of two); c = 2**(z + 127) // p + 1
 *   q >= 0: c = 5**q shifted left until c >= 2**127
 * each entry {c >> 64, c & (2**64 - 1)}. tests/unit/test_numscan.c checks them against 5^q. */
#include "numscan.h"

const uint64_t sw_numscan_pow5[45][2] = {
    {UINT64_C(0xf1c90080baf72cb1), UINT64_C(0x5324c68b12dd6339)}, /* 5^-22 */
    {UINT64_C(0x971da05074da7bee), UINT64_C(0xd3f6fc16ebca5e04)}, /* 5^-21 */
    {UINT64_C(0xbce5086492111aea), UINT64_C(0x88f4bb1ca6bcf585)}, /* 5^-20 */
    {UINT64_C(0xec1e4a7db69561a5), UINT64_C(0x2b31e9e3d06c32e6)}, /* 5^-19 */
    {UINT64_C(0x9392ee8e921d5d07), UINT64_C(0x3aff322e62439fd0)}, /* 5^-18 */
    {UINT64_C(0xb877aa3236a4b449), UINT64_C(0x09befeb9fad487c3)}, /* 5^-17 */
    {UINT64_C(0xe69594bec44de15b), UINT64_C(0x4c2ebe687989a9b4)}, /* 5^-16 */
    {UINT64_C(0x901d7cf73ab0acd9), UINT64_C(0x0f9d37014bf60a11)}, /* 5^-15 */
    {UINT64_C(0xb424dc35095cd80f), UINT64_C(0x538484c19ef38c95)}, /* 5^-14 */
    {UINT64_C(0xe12e13424bb40e13), UINT64_C(0x2865a5f206b06fba)}, /* 5^-13 */
    {UINT64_C(0x8cbccc096f5088cb), UINT64_C(0xf93f87b7442e45d4)}, /* 5^-12 */
    {UINT64_C(0xafebff0bcb24aafe), UINT64_C(0xf78f69a51539d749)}, /* 5^-11 */
    {UINT64_C(0xdbe6fecebdedd5be), UINT64_C(0xb573440e5a884d1c)}, /* 5^-10 */
    {UINT64_C(0x89705f4136b4a597), UINT64_C(0x31680a88f8953031)}, /* 5^-9 */
    {UINT64_C(0xabcc77118461cefc), UINT64_C(0xfdc20d2b36ba7c3e)}, /* 5^-8 */
    {UINT64_C(0xd6bf94d5e57a42bc), UINT64_C(0x3d32907604691b4d)}, /* 5^-7 */
    {UINT64_C(0x8637bd05af6c69b5), UINT64_C(0xa63f9a49c2c1b110)}, /* 5^-6 */
    {UINT64_C(0xa7c5ac471b478423), UINT64_C(0x0fcf80dc33721d54)}, /* 5^-5 */
    {UINT64_C(0xd1b71758e219652b), UINT64_C(0xd3c36113404ea4a9)}, /* 5^-4 */
    {UINT64_C(0x83126e978d4fdf3b), UINT64_C(0x645a1cac083126ea)}, /* 5^-3 */
    {UINT64_C(0xa3d70a3d70a3d70a), UINT64_C(0x3d70a3d70a3d70a4)}, /* 5^-2 */
    {UINT64_C(0xcccccccccccccccc), UINT64_C(0xcccccccccccccccd)}, /* 5^-1 */
    {UINT64_C(0x8000000000000000), UINT64_C(0x0000000000000000)}, /* 5^0 */
    {UINT64_C(0xa000000000000000), UINT64_C(0x0000000000000000)}, /* 5^1 */
    {UINT64_C(0xc800000000000000), UINT64_C(0x0000000000000000)}, /* 5^2 */
    {UINT64_C(0xfa00000000000000), UINT64_C(0x0000000000000000)}, /* 5^3 */
    {UINT64_C(0x9c40000000000000), UINT64_C(0x0000000000000000)}, /* 5^4 */
    {UINT64_C(0xc350000000000000), UINT64_C(0x0000000000000000)}, /* 5^5 */
    {UINT64_C(0xf424000000000000), UINT64_C(0x0000000000000000)}, /* 5^6 */
    {UINT64_C(0x9896800000000000), UINT64_C(0x0000000000000000)}, /* 5^7 */
    {UINT64_C(0xbebc200000000000), UINT64_C(0x0000000000000000)}, /* 5^8 */
    {UINT64_C(0xee6b280000000000), UINT64_C(0x0000000000000000)}, /* 5^9 */
    {UINT64_C(0x9502f90000000000), UINT64_C(0x0000000000000000)}, /* 5^10 */
    {UINT64_C(0xba43b74000000000), UINT64_C(0x0000000000000000)}, /* 5^11 */
    {UINT64_C(0xe8d4a51000000000), UINT64_C(0x0000000000000000)}, /* 5^12 */
    {UINT64_C(0x9184e72a00000000), UINT64_C(0x0000000000000000)}, /* 5^13 */
    {UINT64_C(0xb5e620f480000000), UINT64_C(0x0000000000000000)}, /* 5^14 */
    {UINT64_C(0xe35fa931a0000000), UINT64_C(0x0000000000000000)}, /* 5^15 */
    {UINT64_C(0x8e1bc9bf04000000), UINT64_C(0x0000000000000000)}, /* 5^16 */
    {UINT64_C(0xb1a2bc2ec5000000), UINT64_C(0x0000000000000000)}, /* 5^17 */
    {UINT64_C(0xde0b6b3a76400000), UINT64_C(0x0000000000000000)}, /* 5^18 */
    {UINT64_C(0x8ac7230489e80000), UINT64_C(0x0000000000000000)}, /* 5^19 */
    {UINT64_C(0xad78ebc5ac620000), UINT64_C(0x0000000000000000)}, /* 5^20 */
    {UINT64_C(0xd8d726b7177a8000), UINT64_C(0x0000000000000000)}, /* 5^21 */
    {UINT64_C(0x878678326eac9000), UINT64_C(0x0000000000000000)}, /* 5^22 */
};
