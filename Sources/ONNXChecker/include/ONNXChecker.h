// ONNXChecker: a C API over libonnx's model checker and shape inference (Debian's libonnx 1.12).
//
// Plain C on purpose: no C++ type crosses this header, and no C++ exception crosses any function
// in it. Every function is safe to call from several threads at once.
#ifndef RKD_ONNX_CHECKER_H
#define RKD_ONNX_CHECKER_H

#include <stddef.h>

#ifdef __cplusplus
#define RKD_ONNX_NOEXCEPT noexcept
extern "C" {
#else
#define RKD_ONNX_NOEXCEPT
#endif

/// What `rkd_onnx_check_model` concluded.
typedef enum {
    /// libonnx's checker (and shape inference, if asked for) accepted the model.
    RKD_ONNX_CHECK_VALID = 0,
    /// The checker or shape inference rejected the model; the message is libonnx's.
    RKD_ONNX_CHECK_INVALID = 1,
    /// libprotobuf could not parse the bytes as a ModelProto.
    RKD_ONNX_CHECK_UNPARSEABLE = 2,
    /// The checker was deliberately not run; the message says why (for example external data,
    /// whose location libonnx 1.12 would resolve against this machine's file system).
    RKD_ONNX_CHECK_NOT_RUN = 3,
    /// Something unexpected failed inside libonnx (out of memory, an unexpected exception type).
    RKD_ONNX_CHECK_INTERNAL_ERROR = 4,
} rkd_onnx_check_status;

/// Options for `rkd_onnx_check_model`, combined with `|`.
enum {
    /// Also run shape inference (non-strict: node-level inference failures are ignored, but
    /// conflicts between inferred and declared types or shapes are reported). Not safe on
    /// untrusted models: libonnx 1.12's inference functions can crash the process (a Conv with a
    /// stride of 0 divides by zero), which no exception handler can catch.
    RKD_ONNX_CHECK_INFER_SHAPES = 1,
    /// Check a model whose ir_version is newer than the library's as if it were the library's, so
    /// that the rest of the checks still run (the caller then treats the verdict as advisory).
    RKD_ONNX_CHECK_CLAMP_IR_VERSION = 2,
};

/// Parses `length` bytes at `bytes` as a serialized ModelProto and checks it.
///
/// On return `*message` (when `message` is not NULL) is NULL for a valid model, otherwise a
/// NUL-terminated description allocated with malloc: the caller frees it with
/// `rkd_onnx_free_message`. It can also be NULL if allocating the message itself failed.
rkd_onnx_check_status rkd_onnx_check_model(const void *bytes, size_t length, int options, char **message) RKD_ONNX_NOEXCEPT;

/// Frees a message returned by `rkd_onnx_check_model`. NULL is allowed.
void rkd_onnx_free_message(char *message) RKD_ONNX_NOEXCEPT;

/// The highest opset version libonnx knows for `domain` ("" or "ai.onnx" is the default domain), or
/// -1 when it does not know the domain.
int rkd_onnx_highest_opset(const char *domain) RKD_ONNX_NOEXCEPT;

/// The highest IR version libonnx's checker accepts.
int rkd_onnx_ir_version(void) RKD_ONNX_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
