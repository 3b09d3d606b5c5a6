#ifndef ECD_COPENSSL_SHIM_H
#define ECD_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

/* OPENSSL_free is a macro (it passes __FILE__/__LINE__), which Swift cannot import. */
static inline void ecd_openssl_free(void *pointer) {
    OPENSSL_free(pointer);
}

/* Wipe a buffer in a way the compiler may not elide (for key copies). */
static inline void ecd_openssl_cleanse(void *pointer, size_t length) {
    OPENSSL_cleanse(pointer, length);
}

#endif
