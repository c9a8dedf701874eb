/* profile.c — see profile.h: the profile object (its lifecycle, its name lookups and indexes,
 * the comparison of its hooks). The parser is profile_parse.c. */
#include "profile.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "profile_parse.h"

static const char *name_at(const struct sw_names *nm, int i)
{
    return nm->first + (size_t)i * nm->stride;
}

static int cmp_names(const void *a, const void *b, void *arg)
{
    int i = *(const int *)a, j = *(const int *)b;
    int c = strcmp(name_at(arg, i), name_at(arg, j));
    return c ? c : (i > j) - (i < j);
}

/* The indices 0..n-1 sorted by name (ties by index), malloc'ed; NULL on out of memory or n == 0. */
int *sw_profile_sorted_names(const struct sw_names *nm, int n)
{
    int *order = n > 0 ? malloc((size_t)n * sizeof *order) : NULL;
    for (int i = 0; order && i < n; i++)
        order[i] = i;
    if (order)
        qsort_r(order, (size_t)n, sizeof *order, cmp_names, (void *)nm);
    return order;
}

/* Reports every element whose name an earlier one has ("$.histograms[7].name: duplicate histogram
 * \"ecal\""), in O(n log n): a profile of many histograms validates in linear-logarithmic time. */
void sw_profile_report_duplicates(const struct sw_names *nm, int n, const char *list, const char *what,
                                  struct sw_diag *d)
{
    int *order = sw_profile_sorted_names(nm, n);
    for (int k = 1; order && k < n; k++) {
        const char *name = name_at(nm, order[k]);
        if (name[0] && strcmp(name, name_at(nm, order[k - 1])) == 0)
            sw_diag_add(d, "$.%s[%d].name: duplicate %s \"%s\"", list, order[k], what, name);
    }
    free(order);
}

/* Index of a check by name (the last of equal names, as alarm rules always took), or -1. */
int sw_profile_find_check(const struct sw_profile *p, const char *name)
{
    int found = -1;
    if (!p->check_order) {
        for (int i = 0; i < p->nchecks; i++)
            if (!strcmp(p->checks[i].name, name))
                found = i;
        return found;
    }
    int lo = 0, hi = p->nchecks - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(p->checks[p->check_order[mid]].name, name);
        if (c <= 0)
            lo = mid + 1;
        if (c == 0)
            found = p->check_order[mid];
        if (c > 0)
            hi = mid - 1;
    }
    return found;
}

int sw_profile_find_hist(const struct sw_profile *p, const char *name)
{
    if (!p->hist_order) { /* not indexed (out of memory while parsing) */
        for (int i = 0; i < p->nhists; i++)
            if (strcmp(p->hists[i].name, name) == 0)
                return i;
        return -1;
    }
    int lo = 0, hi = p->nhists - 1, found = -1;
    while (lo <= hi) { /* the first of equal names, as the linear search would find it */
        int mid = lo + (hi - lo) / 2, c = strcmp(p->hists[p->hist_order[mid]].name, name);
        if (c >= 0)
            hi = mid - 1;
        if (c == 0)
            found = p->hist_order[mid];
        if (c < 0)
            lo = mid + 1;
    }
    return found;
}

void sw_profile_release(struct sw_profile *p)
{
    for (int i = 0; i < p->nhooks; i++) {
        /* Every slot, not up to the first NULL: a rejected argument leaves a hole before later ones. */
        for (size_t k = 0; k < sizeof p->hooks[i].argv / sizeof p->hooks[i].argv[0]; k++)
            free(p->hooks[i].argv[k]);
        free(p->hooks[i].secret);
    }
    free(p->hooks);
    free(p->alarms);
    for (int i = 0; i < p->nreasons; i++)
        free(p->manual_reasons[i]);
    free(p->manual_reasons);
    free(p->hists);
    free(p->hist_order);
    free(p->check_order);
    free(p->checks);
    free(p->daq_sources);
    memset(p, 0, sizeof *p);
}

struct sw_profile *sw_profile_adopt(struct sw_profile *p)
{
    struct sw_profile *h = malloc(sizeof *h);
    if (!h)
        return NULL;
    memcpy(h, p, sizeof *h);
    atomic_init(&h->refcount, 1);
    memset(p, 0, sizeof *p);
    return h;
}

struct sw_profile *sw_profile_ref(struct sw_profile *p)
{
    if (p && atomic_load(&p->refcount) > 0)
        atomic_fetch_add(&p->refcount, 1);
    return p;
}

void sw_profile_unref(struct sw_profile *p)
{
    if (!p || atomic_load(&p->refcount) == 0)
        return;
    if (atomic_fetch_sub(&p->refcount, 1) == 1) {
        sw_profile_release(p);
        free(p);
    }
}

static int same_string(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int sw_profile_same_hooks(const struct sw_profile *a, const struct sw_profile *b)
{
    if (a->nhooks != b->nhooks)
        return 0;
    for (int i = 0; i < a->nhooks; i++) {
        const struct sw_hook_def *x = &a->hooks[i], *y = &b->hooks[i];
        if (strcmp(x->name, y->name) != 0 || x->type != y->type || strcmp(x->url, y->url) != 0 ||
            x->text != y->text || !same_string(x->secret, y->secret) || x->timeout != y->timeout ||
            x->repeat != y->repeat)
            return 0;
        for (int k = 0; k < 16; k++) {
            if (!same_string(x->argv[k], y->argv[k]))
                return 0;
            if (!x->argv[k])
                break;
        }
    }
    return 1;
}
