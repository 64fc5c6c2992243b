/* SPDX-License-Identifier: MIT */
#include "coord-client/coord_seal.h"

#include <errno.h>

#include <sodium.h>

_Static_assert(WM_COORD_SEAL_NONCE_LEN == crypto_box_NONCEBYTES, "nonce size");
_Static_assert(WM_COORD_SEAL_OVERHEAD == crypto_box_NONCEBYTES + crypto_box_MACBYTES, "overhead");
_Static_assert(sizeof(((struct wm_coord_box *)0)->shared) == crypto_box_BEFORENMBYTES, "shared");

bool wm_coord_box_init(struct wm_coord_box *b, const uint8_t their_pub[WM_KEY_LEN],
		       const uint8_t our_priv[WM_KEY_LEN])
{
	/* crypto_box_beforenm fails when the X25519 result is all zero (a low-order point). */
	return crypto_box_beforenm(b->shared, their_pub, our_priv) == 0;
}

void wm_coord_box_wipe(struct wm_coord_box *b)
{
	sodium_memzero(b->shared, sizeof(b->shared));
}

ssize_t wm_coord_seal(const struct wm_coord_box *b, uint8_t *out, size_t cap,
		      const void *msg, size_t len)
{
	if (cap < WM_COORD_SEAL_OVERHEAD || len > cap - WM_COORD_SEAL_OVERHEAD)
		return -ENOSPC;
	randombytes_buf(out, crypto_box_NONCEBYTES);
	if (crypto_box_easy_afternm(out + crypto_box_NONCEBYTES, msg, len, out, b->shared))
		return -EINVAL;
	return (ssize_t)(len + WM_COORD_SEAL_OVERHEAD);
}

ssize_t wm_coord_open(const struct wm_coord_box *b, uint8_t *out, size_t cap,
		      const uint8_t *sealed, size_t len)
{
	if (len < WM_COORD_SEAL_OVERHEAD)
		return -EBADMSG;
	if (len - WM_COORD_SEAL_OVERHEAD > cap)
		return -ENOSPC;
	if (crypto_box_open_easy_afternm(out, sealed + crypto_box_NONCEBYTES,
					 len - crypto_box_NONCEBYTES, sealed, b->shared))
		return -EBADMSG;
	return (ssize_t)(len - WM_COORD_SEAL_OVERHEAD);
}

void wm_coord_public_key(uint8_t pub[WM_KEY_LEN], const uint8_t priv[WM_KEY_LEN])
{
	crypto_scalarmult_base(pub, priv);
}
