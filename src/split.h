/* split.h - how an elementwise pass over the parameter buffer is shared
 * between threads (internal).
 *
 * Thread `part` of `parts` takes one contiguous range of the n floats, cut
 * at multiples of 16 floats (64-byte cache lines). The lanes engine's
 * gradient sum and the optimizer's update both split the flat buffer this
 * way, so each thread updates the parameters whose gradients it has just
 * summed, while they are in its own core's cache. The split decides only
 * who computes an element, never how: results do not depend on it.
 */
#ifndef LENET_SPLIT_H
#define LENET_SPLIT_H

static inline void ln_split_range(long n, int parts, int part, long *begin, long *end) {
    const long per = ((n + parts - 1) / parts + 15) / 16 * 16;
    const long a = per * part < n ? per * part : n;
    *begin = a;
    *end = a + per < n ? a + per : n;
}

#endif
