/* kernel_suffix.h - naming for source files compiled once per instruction
 * set (internal). The Makefile builds such a file as generic, AVX2 and
 * AVX-512 with -DLN_KSUFFIX=generic|avx2|avx512; KFN(name) gives each
 * build's functions their own names (name_generic, name_avx2, ...), and a
 * selector picks one at run time from the CPU's features. */
#ifndef LENET_KERNEL_SUFFIX_H
#define LENET_KERNEL_SUFFIX_H

#ifndef LN_KSUFFIX
#error "compile with -DLN_KSUFFIX=generic|avx2|avx512"
#endif
#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define KFN(name) CAT(name, LN_KSUFFIX)

#endif
