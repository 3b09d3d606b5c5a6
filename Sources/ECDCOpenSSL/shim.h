#ifndef ECD_COPENSSL_SHIM_H
#define ECD_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* OPENSSL_free is a macro (it passes __FILE__/__LINE__), which Swift cannot import. */
static inline void ecd_openssl_free(void *pointer) {
    OPENSSL_free(pointer);
}

/* Wipe a buffer in a way the compiler may not elide (for key copies). */
static inline void ecd_openssl_cleanse(void *pointer, size_t length) {
    OPENSSL_cleanse(pointer, length);
}

/* SSL_set_tlsext_host_name and SSL_CTX_set_min_proto_version are macros over SSL_ctrl. */
static inline int ecd_openssl_set_server_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

static inline int ecd_openssl_require_tls12(SSL_CTX *context) {
    return (int)SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
}

#endif
