/* public.c - the routes under /pki/ (issuance.h). */
#include "issuance.h"

enum api_result
issuance_public_serve(struct req *r)
{
    api_fail(r, E_NOTFOUND, "Unknown certificate authority");
    return API_DONE;
}
