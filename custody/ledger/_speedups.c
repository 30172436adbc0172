/*
 * custody.ledger._speedups: an optional C accelerator for the ledger's two hot loops.
 *
 *   encode(value) -> bytes
 *       RFC 8785 (JCS) bytes of an allowed ledger value (exact dicts, lists and tuples,
 *       str, int with |n| < 2**53, bool, None). Anything else, or anything unusual (a
 *       non-BMP key, deep nesting, a dict subclass), raises Unsupported: the caller then
 *       runs the pure-Python reference, which either encodes it or names the error.
 *
 *   append_batch(items, seq, prev, ts, peaks, stored_min) -> (raws, leaves, nodes)
 *       The entries for (kind, body, actor) items appended from `seq` after leaf `prev`
 *       at time `ts`: their canonical bytes, leaf hashes, and the perfect nodes of level
 *       >= stored_min they complete as (level, index, hash), with `peaks` (the tree's
 *       compact range, a list of hashes) updated in place. Anything unusual (a body that
 *       is not an exact dict, a reserved key, a value encode() declines) raises
 *       Unsupported, possibly after changing `peaks`: the caller passes a copy and
 *       redoes the batch with the Python reference.
 *
 *   scan(rows, offset, expected, prev, stack, count, snap_at, snap_i, snapshots,
 *        photo_ok, check) -> (next_offset, count, snap_i, last_leaf)
 *       Verifies ledger rows (seq, raw, leaf) from rows[offset:] and pushes their leaf
 *       hashes into the Merkle compact range `stack` (a list of 32-byte peaks of a range
 *       of `count` leaves), copying the stack into snapshots[count] whenever count reaches
 *       snap_at[snap_i]. It stops BEFORE the first row it cannot confirm, leaving that row
 *       to the pure-Python reference (which names the failure, or finds it good).
 *
 * A row is confirmed only when its bytes are, by a strict grammar, already in canonical
 * form (no whitespace; object keys without escapes or non-BMP characters, strictly
 * increasing in byte order, which for such keys is the UTF-16 order JCS asks for; strings
 * with exactly JCS's escapes and valid UTF-8 without surrogates; integers without leading
 * zeros, sign of zero, fraction or exponent, and |n| < 2**53; no floats), its top-level
 * v, seq, prev, ts, kind and actor are right, its stored leaf matches, and every photo
 * reference it holds is one the caller already checked (photo_ok: sha256 -> size). This
 * accelerator may refuse good rows (the reference then accepts them); it must never
 * confirm a row the reference would refuse. tests/unit/test_ledger_speedups.py checks
 * both directions against the reference on generated and mutated entries.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#define MAX_DEPTH 64
#define MAX_SAFE 9007199254740991LL /* 2**53 - 1 */

static PyObject *Unsupported;

/* ------------------------------------------------------------------ output buffer */

typedef struct {
    char *p;
    Py_ssize_t n, cap;
} Buf;

static int buf_reserve(Buf *b, Py_ssize_t extra) {
    if (b->n + extra <= b->cap) return 0;
    Py_ssize_t cap = b->cap ? b->cap : 512;
    while (cap < b->n + extra) cap *= 2;
    char *p = PyMem_Realloc(b->p, (size_t)cap);
    if (!p) {
        PyErr_NoMemory();
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static inline int buf_put(Buf *b, const char *s, Py_ssize_t n) {
    if (buf_reserve(b, n) < 0) return -1;
    memcpy(b->p + b->n, s, (size_t)n);
    b->n += n;
    return 0;
}

static inline int buf_c(Buf *b, char c) {
    if (buf_reserve(b, 1) < 0) return -1;
    b->p[b->n++] = c;
    return 0;
}

static int unsupported(const char *why) {
    PyErr_SetString(Unsupported, why);
    return -1;
}

/* ------------------------------------------------------------------ encoder */

static const char HEX[] = "0123456789abcdef";

static int enc_utf8_string(Buf *b, const char *u, Py_ssize_t n) {
    /* worst case every byte becomes \u00xx */
    if (buf_reserve(b, n * 6 + 2) < 0) return -1;
    char *o = b->p + b->n;
    *o++ = '"';
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)u[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = HEX[c >> 4];
            *o++ = HEX[c & 15];
        }
    }
    *o++ = '"';
    b->n = o - b->p;
    return 0;
}

static int enc_str(Buf *b, PyObject *s) {
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    if (!u) {
        PyErr_Clear(); /* a lone surrogate: the reference names it */
        return unsupported("string is not encodable as UTF-8");
    }
    return enc_utf8_string(b, u, n);
}

typedef struct {
    const char *u;
    Py_ssize_t n;
    PyObject *value;
} Member;

static int member_cmp(const void *a, const void *b) {
    const Member *x = a, *y = b;
    Py_ssize_t m = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->u, y->u, (size_t)m);
    if (c) return c;
    return (x->n > y->n) - (x->n < y->n);
}

static int enc_value(Buf *b, PyObject *v, int depth);

static int enc_dict(Buf *b, PyObject *d, int depth) {
    Py_ssize_t n = PyDict_GET_SIZE(d);
    if (n == 0) return buf_put(b, "{}", 2);
    Member stack_members[32];
    Member *ms = n <= 32 ? stack_members : PyMem_Malloc(sizeof(Member) * (size_t)n);
    if (!ms) {
        PyErr_NoMemory();
        return -1;
    }
    int rc = -1;
    Py_ssize_t pos = 0, i = 0;
    PyObject *key, *value;
    while (PyDict_Next(d, &pos, &key, &value)) {
        if (i >= n || !PyUnicode_CheckExact(key)) {
            unsupported("object key is not a string");
            goto done;
        }
        const char *u = PyUnicode_AsUTF8AndSize(key, &ms[i].n);
        if (!u) {
            PyErr_Clear();
            unsupported("object key is not encodable as UTF-8");
            goto done;
        }
        for (Py_ssize_t k = 0; k < ms[i].n; k++) {
            if ((unsigned char)u[k] >= 0xF0) { /* non-BMP: UTF-16 order differs */
                unsupported("object key outside the Basic Multilingual Plane");
                goto done;
            }
        }
        ms[i].u = u;
        ms[i].value = value;
        i++;
    }
    if (i != n) {
        unsupported("dict changed size");
        goto done;
    }
    if (n > 32) {
        qsort(ms, (size_t)n, sizeof(Member), member_cmp);
    } else { /* few keys, often nearly sorted already: insertion sort */
        for (Py_ssize_t a = 1; a < n; a++) {
            Member m = ms[a];
            Py_ssize_t j = a;
            while (j > 0 && member_cmp(&ms[j - 1], &m) > 0) {
                ms[j] = ms[j - 1];
                j--;
            }
            ms[j] = m;
        }
    }
    if (buf_c(b, '{') < 0) goto done;
    for (i = 0; i < n; i++) {
        if (i && buf_c(b, ',') < 0) goto done;
        if (enc_utf8_string(b, ms[i].u, ms[i].n) < 0) goto done;
        if (buf_c(b, ':') < 0) goto done;
        if (enc_value(b, ms[i].value, depth + 1) < 0) goto done;
    }
    rc = buf_c(b, '}');
done:
    if (ms != stack_members) PyMem_Free(ms);
    return rc;
}

static int enc_value(Buf *b, PyObject *v, int depth) {
    if (depth > MAX_DEPTH) return unsupported("nesting too deep");
    if (PyUnicode_Check(v)) return enc_str(b, v);
    if (v == Py_None) return buf_put(b, "null", 4);
    if (v == Py_True) return buf_put(b, "true", 4);
    if (v == Py_False) return buf_put(b, "false", 5);
    if (PyLong_Check(v) && !PyBool_Check(v)) {
        int overflow = 0;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (x == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            return unsupported("integer not readable");
        }
        if (overflow || x > MAX_SAFE || x < -MAX_SAFE)
            return unsupported("integer outside +-2**53");
        char tmp[24];
        int len = 0;
        unsigned long long u = x < 0 ? (unsigned long long)(-x) : (unsigned long long)x;
        do {
            tmp[sizeof tmp - 1 - len++] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (x < 0) tmp[sizeof tmp - 1 - len++] = '-';
        return buf_put(b, tmp + sizeof tmp - len, len);
    }
    if (PyDict_CheckExact(v)) return enc_dict(b, v, depth);
    if (PyList_CheckExact(v) || PyTuple_CheckExact(v)) {
        PyObject *seq = v;
        Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
        if (buf_c(b, '[') < 0) return -1;
        for (Py_ssize_t i = 0; i < n; i++) {
            if (i && buf_c(b, ',') < 0) return -1;
            /* a list may be changed by nothing here: no Python code runs while encoding */
            if (i >= PySequence_Fast_GET_SIZE(seq)) return unsupported("list changed size");
            if (enc_value(b, PySequence_Fast_GET_ITEM(seq, i), depth + 1) < 0) return -1;
        }
        return buf_c(b, ']');
    }
    return unsupported("value of another type");
}

static PyObject *py_encode(PyObject *self, PyObject *value) {
    (void)self;
    Buf b = {NULL, 0, 0};
    PyObject *out = NULL;
    if (enc_value(&b, value, 0) == 0) out = PyBytes_FromStringAndSize(b.p, b.n);
    PyMem_Free(b.p);
    return out;
}

/* ------------------------------------------------------------------ hashing */

static void leaf_hash(const unsigned char *raw, Py_ssize_t n, unsigned char out[32]) {
    SHA256_CTX c;
    static const unsigned char zero = 0;
    SHA256_Init(&c);
    SHA256_Update(&c, &zero, 1);
    SHA256_Update(&c, raw, (size_t)n);
    SHA256_Final(out, &c);
}

static void node_hash(const unsigned char *left, const unsigned char *right,
                      unsigned char out[32]) {
    /* the low-level interface: SHA256() would look the algorithm up on every call */
    unsigned char buf[65];
    SHA256_CTX c;
    buf[0] = 1;
    memcpy(buf + 1, left, 32);
    memcpy(buf + 33, right, 32);
    SHA256_Init(&c);
    SHA256_Update(&c, buf, 65);
    SHA256_Final(out, &c);
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_32(const unsigned char in[32], char out[44]) {
    int o = 0;
    for (int i = 0; i < 30; i += 3) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        out[o++] = B64[(v >> 18) & 63];
        out[o++] = B64[(v >> 12) & 63];
        out[o++] = B64[(v >> 6) & 63];
        out[o++] = B64[v & 63];
    }
    uint32_t v = ((uint32_t)in[30] << 16) | ((uint32_t)in[31] << 8);
    out[o++] = B64[(v >> 18) & 63];
    out[o++] = B64[(v >> 12) & 63];
    out[o++] = B64[(v >> 6) & 63];
    out[o++] = '=';
}

/* ------------------------------------------------------------------ strict parser */

typedef struct {
    const unsigned char *p, *end;
    /* top-level fields */
    int have_v, have_seq, have_prev, have_ts, have_kind, have_actor;
    long long v, seq;
    const unsigned char *prev;
    Py_ssize_t prev_n;
    /* photo references found, checked after the parse */
    int nrefs;
    const unsigned char *ref_sha[16];
    long long ref_size[16];
} Parser;

enum { T_STR, T_NUM, T_OTHER };

/* A string at p (after its opening quote). Sets *esc when it holds an escape and *wide
 * when it holds a 4-byte (non-BMP) character. Returns 0, or -1 when not canonical. */
static int parse_string(Parser *P, const unsigned char **start, Py_ssize_t *len, int *esc,
                        int *wide) {
    const unsigned char *p = P->p + 1, *end = P->end;
    *start = p;
    *esc = 0;
    *wide = 0;
    while (p < end) {
        unsigned char c = *p;
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            p++;
            continue;
        }
        if (c == '"') {
            *len = p - *start;
            P->p = p + 1;
            return 0;
        }
        if (c < 0x20) return -1;
        if (c < 0x80) {
            if (c == '\\') {
                *esc = 1;
                if (p + 1 >= end) return -1;
                unsigned char e = p[1];
                if (e == '"' || e == '\\' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
                    e == 't') {
                    p += 2;
                    continue;
                }
                if (e != 'u' || p + 6 > end || p[2] != '0' || p[3] != '0') return -1;
                unsigned char h = p[4], l = p[5];
                if (h != '0' && h != '1') return -1;
                int lv;
                if (l >= '0' && l <= '9') lv = l - '0';
                else if (l >= 'a' && l <= 'f') lv = l - 'a' + 10;
                else return -1;
                int code = (h - '0') * 16 + lv;
                if (code == 8 || code == 9 || code == 10 || code == 12 || code == 13) return -1;
                p += 6;
                continue;
            }
            p++;
            continue;
        }
        /* UTF-8, strictly: no overlongs, no surrogates, nothing above U+10FFFF */
        if (c >= 0xC2 && c <= 0xDF) {
            if (p + 1 >= end || (p[1] & 0xC0) != 0x80) return -1;
            p += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            if (p + 2 >= end) return -1;
            unsigned char c1 = p[1];
            if (c == 0xE0 ? (c1 < 0xA0 || c1 > 0xBF)
                : c == 0xED ? (c1 < 0x80 || c1 > 0x9F)
                            : (c1 & 0xC0) != 0x80)
                return -1;
            if ((p[2] & 0xC0) != 0x80) return -1;
            p += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            if (p + 3 >= end) return -1;
            unsigned char c1 = p[1];
            if (c == 0xF0 ? (c1 < 0x90 || c1 > 0xBF)
                : c == 0xF4 ? (c1 < 0x80 || c1 > 0x8F)
                            : (c1 & 0xC0) != 0x80)
                return -1;
            if ((p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return -1;
            *wide = 1;
            p += 4;
        } else {
            return -1;
        }
    }
    return -1;
}

static int parse_int(Parser *P, long long *out) {
    const unsigned char *p = P->p, *end = P->end;
    int neg = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (p >= end || *p < '0' || *p > '9') return -1;
    long long v = 0;
    const unsigned char *digits = p;
    if (*p == '0') {
        p++;
        if (neg) return -1; /* -0 */
    } else {
        while (p < end && *p >= '0' && *p <= '9') {
            if (p - digits >= 16) return -1; /* more than 2**53 can hold */
            v = v * 10 + (*p - '0');
            p++;
        }
    }
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9')))
        return -1; /* a float, or a leading zero */
    if (v > MAX_SAFE) return -1;
    *out = neg ? -v : v;
    P->p = p;
    return 0;
}

static int parse_value(Parser *P, int depth, int *type, const unsigned char **s,
                       Py_ssize_t *slen, int *sesc, long long *num);

/* The keys the scan looks at, by a switch on length (this runs for every key). */
enum { K_OTHER, K_V, K_TS, K_SEQ, K_PREV, K_KIND, K_ACTOR, K_BYTES, K_SHA256 };

static int key_id(const unsigned char *k, Py_ssize_t n) {
    switch (n) {
    case 1: return k[0] == 'v' ? K_V : K_OTHER;
    case 2: return k[0] == 't' && k[1] == 's' ? K_TS : K_OTHER;
    case 3: return memcmp(k, "seq", 3) == 0 ? K_SEQ : K_OTHER;
    case 4:
        if (memcmp(k, "prev", 4) == 0) return K_PREV;
        return memcmp(k, "kind", 4) == 0 ? K_KIND : K_OTHER;
    case 5:
        if (memcmp(k, "bytes", 5) == 0) return K_BYTES;
        return memcmp(k, "actor", 5) == 0 ? K_ACTOR : K_OTHER;
    case 6: return memcmp(k, "sha256", 6) == 0 ? K_SHA256 : K_OTHER;
    default: return K_OTHER;
    }
}

static int parse_object(Parser *P, int depth) {
    const unsigned char *prev_key = NULL;
    Py_ssize_t prev_n = 0;
    int has_sha = 0, has_bytes = 0, sha_ok = 0, bytes_ok = 0;
    const unsigned char *sha = NULL;
    long long size = 0;
    P->p++; /* '{' */
    if (P->p < P->end && *P->p == '}') {
        P->p++;
        return 0;
    }
    for (;;) {
        if (P->p >= P->end || *P->p != '"') return -1;
        const unsigned char *k;
        Py_ssize_t kn;
        int kesc, kwide;
        if (parse_string(P, &k, &kn, &kesc, &kwide) < 0 || kesc || kwide) return -1;
        if (prev_key) {
            Py_ssize_t m = kn < prev_n ? kn : prev_n;
            int c = memcmp(prev_key, k, (size_t)m);
            if (c > 0 || (c == 0 && prev_n >= kn)) return -1; /* order, or a duplicate */
        }
        prev_key = k;
        prev_n = kn;
        if (P->p >= P->end || *P->p != ':') return -1;
        P->p++;
        int type;
        const unsigned char *s = NULL;
        Py_ssize_t sn = 0;
        int sesc = 0;
        long long num = 0;
        if (parse_value(P, depth + 1, &type, &s, &sn, &sesc, &num) < 0) return -1;
        int id = key_id(k, kn);
        if (id == K_OTHER) {
            /* nothing to record */
        } else if (id == K_SHA256) {
            has_sha = 1;
            sha_ok = type == T_STR && !sesc && sn == 64;
            for (Py_ssize_t i = 0; sha_ok && i < 64; i++)
                sha_ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
            sha = s;
        } else if (id == K_BYTES) {
            has_bytes = 1;
            bytes_ok = type == T_NUM;
            size = num;
        }
        if (depth == 0 && id != K_OTHER) {
            if (id == K_V) {
                P->have_v = type == T_NUM;
                P->v = num;
            } else if (id == K_SEQ) {
                P->have_seq = type == T_NUM;
                P->seq = num;
            } else if (id == K_PREV) {
                P->have_prev = type == T_STR && !sesc;
                P->prev = s;
                P->prev_n = sn;
            } else if (id == K_TS) {
                /* \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z, ASCII digits */
                static const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
                int ok = type == T_STR && !sesc && sn == 24;
                for (int i = 0; ok && i < 24; i++)
                    ok = shape[i] == 'd' ? (s[i] >= '0' && s[i] <= '9') : s[i] == shape[i];
                P->have_ts = ok;
            } else if (id == K_KIND) {
                P->have_kind = type == T_STR;
            } else if (id == K_ACTOR) {
                P->have_actor = type == T_STR;
            }
        }
        if (P->p >= P->end) return -1;
        if (*P->p == ',') {
            P->p++;
            continue;
        }
        if (*P->p != '}') return -1;
        P->p++;
        break;
    }
    if (has_sha && has_bytes) {
        if (!sha_ok || !bytes_ok || P->nrefs >= 16) return -1;
        P->ref_sha[P->nrefs] = sha;
        P->ref_size[P->nrefs] = size;
        P->nrefs++;
    }
    return 0;
}

static int parse_value(Parser *P, int depth, int *type, const unsigned char **s,
                       Py_ssize_t *slen, int *sesc, long long *num) {
    if (P->p >= P->end || depth > MAX_DEPTH) return -1;
    unsigned char c = *P->p;
    *type = T_OTHER;
    if (c == '"') {
        int wide;
        *type = T_STR;
        return parse_string(P, s, slen, sesc, &wide);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        *type = T_NUM;
        return parse_int(P, num);
    }
    if (c == '{') return parse_object(P, depth);
    if (c == '[') {
        P->p++;
        if (P->p < P->end && *P->p == ']') {
            P->p++;
            return 0;
        }
        for (;;) {
            int t;
            const unsigned char *ss;
            Py_ssize_t sn;
            int se;
            long long nn;
            if (parse_value(P, depth + 1, &t, &ss, &sn, &se, &nn) < 0) return -1;
            if (P->p >= P->end) return -1;
            if (*P->p == ',') {
                P->p++;
                continue;
            }
            if (*P->p != ']') return -1;
            P->p++;
            return 0;
        }
    }
    Py_ssize_t left = P->end - P->p;
    if (c == 't' && left >= 4 && memcmp(P->p, "true", 4) == 0) {
        P->p += 4;
        return 0;
    }
    if (c == 'f' && left >= 5 && memcmp(P->p, "false", 5) == 0) {
        P->p += 5;
        return 0;
    }
    if (c == 'n' && left >= 4 && memcmp(P->p, "null", 4) == 0) {
        P->p += 4;
        return 0;
    }
    return -1;
}

/* 0 when `raw` is a confirmed entry at `seq` following leaf `prev` (NULL: unknown), with
 * every photo reference in photo_ok (NULL: photos not checked); 1 when it is left to the
 * reference; -1 on a Python error. */
static int check_row(const unsigned char *raw, Py_ssize_t n, long long seq,
                     const unsigned char *prev, PyObject *photo_ok) {
    Parser P;
    memset(&P, 0, sizeof P);
    P.p = raw;
    P.end = raw + n;
    if (n < 2 || raw[0] != '{') return 1;
    if (parse_object(&P, 0) < 0 || P.p != P.end) return 1;
    if (!(P.have_v && P.v == 1 && P.have_seq && P.seq == seq && P.have_prev && P.have_ts &&
          P.have_kind && P.have_actor))
        return 1;
    if (prev) {
        char want[44];
        b64_32(prev, want);
        if (P.prev_n != 44 || memcmp(P.prev, want, 44) != 0) return 1;
    }
    if (photo_ok != NULL && P.nrefs) {
        for (int i = 0; i < P.nrefs; i++) {
            PyObject *key = PyUnicode_FromStringAndSize((const char *)P.ref_sha[i], 64);
            if (!key) return -1;
            PyObject *got = PyDict_GetItemWithError(photo_ok, key);
            Py_DECREF(key);
            if (!got) return PyErr_Occurred() ? -1 : 1;
            if (!PyLong_CheckExact(got)) return 1;
            long long have = PyLong_AsLongLong(got);
            if (have == -1 && PyErr_Occurred()) {
                PyErr_Clear();
                return 1;
            }
            if (have != P.ref_size[i]) return 1;
        }
    }
    return 0;
}

/* Push `leaf` (the leaf at index `index`) into the compact range `peaks`; when `nodes`
 * is a list, append the perfect nodes of level >= stored_min it completes. */
static int push_peaks(PyObject *peaks, long long index, const unsigned char leaf[32],
                      int stored_min, PyObject *nodes) {
    unsigned char h[32];
    memcpy(h, leaf, 32);
    long long n = index;
    int level = 0;
    while (n & 1) {
        Py_ssize_t top = PyList_GET_SIZE(peaks);
        if (top == 0) {
            PyErr_SetString(PyExc_ValueError, "peaks are shorter than the tree size says");
            return -1;
        }
        PyObject *left = PyList_GET_ITEM(peaks, top - 1);
        if (!PyBytes_Check(left) || PyBytes_GET_SIZE(left) != 32) {
            PyErr_SetString(PyExc_ValueError, "peaks hold a non-hash");
            return -1;
        }
        node_hash((const unsigned char *)PyBytes_AS_STRING(left), h, h);
        if (PyList_SetSlice(peaks, top - 1, top, NULL) < 0) return -1;
        n >>= 1;
        level++;
        if (nodes != NULL && level >= stored_min) {
            PyObject *node = Py_BuildValue("(iLy#)", level, n, (const char *)h, (Py_ssize_t)32);
            if (!node) return -1;
            int rc = PyList_Append(nodes, node);
            Py_DECREF(node);
            if (rc < 0) return -1;
        }
    }
    PyObject *hb = PyBytes_FromStringAndSize((const char *)h, 32);
    if (!hb) return -1;
    int rc = PyList_Append(peaks, hb);
    Py_DECREF(hb);
    return rc;
}

static PyObject *py_scan(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *rows, *prev_obj, *stack, *snap_at, *snapshots, *photo_ok;
    Py_ssize_t offset, snap_i;
    long long expected, count;
    int check;
    if (!PyArg_ParseTuple(args, "O!nLOO!LO!nO!Op:scan", &PyList_Type, &rows, &offset,
                          &expected, &prev_obj, &PyList_Type, &stack, &count, &PyTuple_Type,
                          &snap_at, &snap_i, &PyDict_Type, &snapshots, &photo_ok, &check))
        return NULL;
    if (photo_ok != Py_None && !PyDict_Check(photo_ok)) {
        PyErr_SetString(PyExc_TypeError, "photo_ok must be a dict or None");
        return NULL;
    }
    if (offset < 0 || snap_i < 0) {
        PyErr_SetString(PyExc_ValueError, "offset and snap_i must not be negative");
        return NULL;
    }
    unsigned char prev[32];
    int have_prev = 0;
    if (prev_obj != Py_None) {
        if (!PyBytes_Check(prev_obj) || PyBytes_GET_SIZE(prev_obj) != 32) {
            PyErr_SetString(PyExc_TypeError, "prev must be 32 bytes or None");
            return NULL;
        }
        memcpy(prev, PyBytes_AS_STRING(prev_obj), 32);
        have_prev = 1;
    }
    long long next_snap = -1;
    if (snap_i < PyTuple_GET_SIZE(snap_at)) {
        next_snap = PyLong_AsLongLong(PyTuple_GET_ITEM(snap_at, snap_i));
        if (next_snap == -1 && PyErr_Occurred()) return NULL;
    }
    PyObject *pok = photo_ok == Py_None ? NULL : photo_ok;
    Py_ssize_t n = PyList_GET_SIZE(rows);
    Py_ssize_t i = offset;
    for (; i < n; i++) {
        PyObject *row = PyList_GET_ITEM(rows, i);
        if (!PyTuple_Check(row) || PyTuple_GET_SIZE(row) != 3) break;
        PyObject *raw = PyTuple_GET_ITEM(row, 1);
        if (!PyBytes_Check(raw)) break;
        const unsigned char *rp = (const unsigned char *)PyBytes_AS_STRING(raw);
        Py_ssize_t rn = PyBytes_GET_SIZE(raw);
        unsigned char leaf[32];
        if (check) {
            PyObject *seq_obj = PyTuple_GET_ITEM(row, 0);
            if (!PyLong_CheckExact(seq_obj)) break;
            long long seq = PyLong_AsLongLong(seq_obj);
            if (seq == -1 && PyErr_Occurred()) {
                PyErr_Clear();
                break;
            }
            if (seq != expected) break;
            leaf_hash(rp, rn, leaf);
            PyObject *stored = PyTuple_GET_ITEM(row, 2);
            if (stored != Py_None &&
                (!PyBytes_Check(stored) || PyBytes_GET_SIZE(stored) != 32 ||
                 memcmp(PyBytes_AS_STRING(stored), leaf, 32) != 0))
                break;
            int r = check_row(rp, rn, expected, have_prev ? prev : NULL, pok);
            if (r < 0) return NULL;
            if (r > 0) break;
        } else {
            leaf_hash(rp, rn, leaf);
        }
        if (push_peaks(stack, count, leaf, 0, NULL) < 0) return NULL;
        count++;
        expected++;
        memcpy(prev, leaf, 32);
        have_prev = 1;
        if (count == next_snap) {
            PyObject *copy = PyList_GetSlice(stack, 0, PyList_GET_SIZE(stack));
            if (!copy) return NULL;
            PyObject *key = PyLong_FromLongLong(count);
            if (!key) {
                Py_DECREF(copy);
                return NULL;
            }
            int rc = PyDict_SetItem(snapshots, key, copy);
            Py_DECREF(key);
            Py_DECREF(copy);
            if (rc < 0) return NULL;
            snap_i++;
            next_snap = -1;
            if (snap_i < PyTuple_GET_SIZE(snap_at)) {
                next_snap = PyLong_AsLongLong(PyTuple_GET_ITEM(snap_at, snap_i));
                if (next_snap == -1 && PyErr_Occurred()) return NULL;
            }
        }
    }
    PyObject *last = Py_None;
    Py_INCREF(last);
    if (i > offset) {
        Py_DECREF(last);
        last = PyBytes_FromStringAndSize((const char *)prev, 32);
        if (!last) return NULL;
    }
    return Py_BuildValue("nLnN", i, count, snap_i, last);
}

/* ------------------------------------------------------------------ appends */

static PyObject *S_V, *S_SEQ, *S_PREV, *S_TS, *S_KIND, *S_ACTOR, *ONE;

static PyObject *py_append_batch(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *items, *prev_obj, *ts, *peaks;
    long long seq;
    int stored_min;
    if (!PyArg_ParseTuple(args, "O!LO!UO!i:append_batch", &PyList_Type, &items, &seq,
                          &PyBytes_Type, &prev_obj, &ts, &PyList_Type, &peaks, &stored_min))
        return NULL;
    if (PyBytes_GET_SIZE(prev_obj) != 32) {
        PyErr_SetString(PyExc_ValueError, "prev must be 32 bytes");
        return NULL;
    }
    unsigned char prev[32];
    memcpy(prev, PyBytes_AS_STRING(prev_obj), 32);
    Py_ssize_t n = PyList_GET_SIZE(items);
    PyObject *raws = PyList_New(n), *leaves = PyList_New(n), *nodes = PyList_New(0);
    Buf b = {NULL, 0, 0};
    if (!raws || !leaves || !nodes) goto error;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyList_GET_ITEM(items, i);
        if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 3) {
            unsupported("an item is not a (kind, body, actor) tuple");
            goto error;
        }
        PyObject *kind = PyTuple_GET_ITEM(item, 0), *body = PyTuple_GET_ITEM(item, 1),
                 *actor = PyTuple_GET_ITEM(item, 2);
        if (!PyUnicode_CheckExact(kind) || PyUnicode_GET_LENGTH(kind) == 0 ||
            !PyUnicode_CheckExact(actor) || PyUnicode_GET_LENGTH(actor) == 0 ||
            !PyDict_CheckExact(body)) {
            unsupported("an item's kind, actor or body is not of the plain types");
            goto error;
        }
        PyObject *obj = PyDict_Copy(body);
        if (!obj) goto error;
        Py_ssize_t body_n = PyDict_GET_SIZE(obj);
        char b64[44];
        b64_32(prev, b64);
        PyObject *seq_obj = PyLong_FromLongLong(seq);
        PyObject *prev_str = PyUnicode_FromStringAndSize(b64, 44);
        int bad = !seq_obj || !prev_str || PyDict_SetItem(obj, S_V, ONE) < 0 ||
                  PyDict_SetItem(obj, S_SEQ, seq_obj) < 0 ||
                  PyDict_SetItem(obj, S_PREV, prev_str) < 0 ||
                  PyDict_SetItem(obj, S_TS, ts) < 0 || PyDict_SetItem(obj, S_KIND, kind) < 0 ||
                  PyDict_SetItem(obj, S_ACTOR, actor) < 0;
        Py_XDECREF(seq_obj);
        Py_XDECREF(prev_str);
        if (bad) {
            Py_DECREF(obj);
            goto error;
        }
        if (PyDict_GET_SIZE(obj) != body_n + 6) {
            Py_DECREF(obj);
            unsupported("a body key is reserved");
            goto error;
        }
        b.n = 0;
        int rc = enc_value(&b, obj, 0);
        Py_DECREF(obj);
        if (rc < 0) goto error;
        PyObject *raw = PyBytes_FromStringAndSize(b.p, b.n);
        if (!raw) goto error;
        PyList_SET_ITEM(raws, i, raw);
        unsigned char leaf[32];
        leaf_hash((const unsigned char *)b.p, b.n, leaf);
        PyObject *lb = PyBytes_FromStringAndSize((const char *)leaf, 32);
        if (!lb) goto error;
        PyList_SET_ITEM(leaves, i, lb);
        if (push_peaks(peaks, seq, leaf, stored_min, nodes) < 0) goto error;
        memcpy(prev, leaf, 32);
        seq++;
    }
    PyMem_Free(b.p);
    return Py_BuildValue("NNN", raws, leaves, nodes);
error:
    PyMem_Free(b.p);
    Py_XDECREF(raws);
    Py_XDECREF(leaves);
    Py_XDECREF(nodes);
    return NULL;
}

/* ------------------------------------------------------------------ module */

static PyMethodDef methods[] = {
    {"encode", py_encode, METH_O, "RFC 8785 bytes of an allowed ledger value, or Unsupported."},
    {"scan", py_scan, METH_VARARGS, "Verify and hash ledger rows until one needs the reference."},
    {"append_batch", py_append_batch, METH_VARARGS, "Entry bytes, leaves and nodes of a batch."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_speedups", "C accelerator for custody.ledger (optional).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void) {
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Unsupported = PyErr_NewException("custody.ledger._speedups.Unsupported",
                                     PyExc_ValueError, NULL);
    S_V = PyUnicode_InternFromString("v");
    S_SEQ = PyUnicode_InternFromString("seq");
    S_PREV = PyUnicode_InternFromString("prev");
    S_TS = PyUnicode_InternFromString("ts");
    S_KIND = PyUnicode_InternFromString("kind");
    S_ACTOR = PyUnicode_InternFromString("actor");
    ONE = PyLong_FromLong(1);
    if (!S_V || !S_SEQ || !S_PREV || !S_TS || !S_KIND || !S_ACTOR || !ONE) {
        Py_DECREF(m);
        return NULL;
    }
    if (!Unsupported || PyModule_AddObjectRef(m, "Unsupported", Unsupported) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
