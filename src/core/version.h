/* version.h - the release, for `keyward version` and the OpenAPI document. */
#ifndef KW_VERSION_H
#define KW_VERSION_H

#define KW_VERSION "0.1.0"

#endif
