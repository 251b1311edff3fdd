// ONNXChecker: extern "C" wrappers over libonnx's checker and shape inference.
//
// Every entry point catches every C++ exception; nothing but C types leave this file.

#include "ONNXChecker.h"

#include <climits>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "onnx/checker.h"
#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"

namespace {

char *copyMessage(const std::string &text) noexcept {
    char *copy = static_cast<char *>(std::malloc(text.size() + 1));
    if (copy != nullptr) {
        std::memcpy(copy, text.data(), text.size());
        copy[text.size()] = '\0';
    }
    return copy;
}

rkd_onnx_check_status finish(rkd_onnx_check_status status, const std::string &text, char **message) noexcept {
    if (message != nullptr) {
        *message = text.empty() ? nullptr : copyMessage(text);
    }
    return status;
}

// For the last-resort handlers: no std::string, so nothing here can throw.
rkd_onnx_check_status finishLiteral(rkd_onnx_check_status status, const char *text, char **message) noexcept {
    if (message != nullptr) {
        size_t size = std::strlen(text);
        char *copy = static_cast<char *>(std::malloc(size + 1));
        if (copy != nullptr) std::memcpy(copy, text, size + 1);
        *message = copy;
    }
    return status;
}

bool isExternal(const onnx::TensorProto &tensor) {
    return tensor.data_location() == onnx::TensorProto::EXTERNAL || tensor.external_data_size() > 0;
}

// The name of the first tensor anywhere in the model that keeps its data outside the file, or an
// empty string. The nesting is bounded by libprotobuf's recursion limit (100) at parse time.
std::string firstExternalTensor(const onnx::GraphProto &graph);

std::string firstExternalTensor(const onnx::NodeProto &node) {
    for (const auto &attribute : node.attribute()) {
        if (attribute.has_t() && isExternal(attribute.t())) return attribute.t().name();
        for (const auto &tensor : attribute.tensors()) {
            if (isExternal(tensor)) return tensor.name();
        }
        if (attribute.has_sparse_tensor()
            && (isExternal(attribute.sparse_tensor().values()) || isExternal(attribute.sparse_tensor().indices()))) {
            return attribute.sparse_tensor().values().name();
        }
        for (const auto &sparse : attribute.sparse_tensors()) {
            if (isExternal(sparse.values()) || isExternal(sparse.indices())) return sparse.values().name();
        }
        if (attribute.has_g()) {
            std::string name = firstExternalTensor(attribute.g());
            if (!name.empty()) return name;
        }
        for (const auto &subgraph : attribute.graphs()) {
            std::string name = firstExternalTensor(subgraph);
            if (!name.empty()) return name;
        }
    }
    return std::string();
}

std::string firstExternalTensor(const onnx::GraphProto &graph) {
    for (const auto &tensor : graph.initializer()) {
        if (isExternal(tensor)) return tensor.name().empty() ? std::string("(unnamed)") : tensor.name();
    }
    for (const auto &sparse : graph.sparse_initializer()) {
        if (isExternal(sparse.values()) || isExternal(sparse.indices())) {
            return sparse.values().name().empty() ? std::string("(unnamed)") : sparse.values().name();
        }
    }
    for (const auto &node : graph.node()) {
        std::string name = firstExternalTensor(node);
        if (!name.empty()) return name;
    }
    return std::string();
}

std::string firstExternalTensor(const onnx::ModelProto &model) {
    std::string name = firstExternalTensor(model.graph());
    if (!name.empty()) return name;
    for (const auto &function : model.functions()) {
        for (const auto &node : function.node()) {
            name = firstExternalTensor(node);
            if (!name.empty()) return name;
        }
    }
    return std::string();
}

rkd_onnx_check_status check(const void *bytes, size_t length, int options, char **message) {
    if (bytes == nullptr && length > 0) {
        return finish(RKD_ONNX_CHECK_UNPARSEABLE, "no bytes were given", message);
    }
    if (length > static_cast<size_t>(INT_MAX)) {
        return finish(RKD_ONNX_CHECK_UNPARSEABLE, "the model is over 2 GiB, the protobuf limit", message);
    }
    onnx::ModelProto model;
    if (!model.ParseFromArray(bytes, static_cast<int>(length))) {
        return finish(RKD_ONNX_CHECK_UNPARSEABLE, "libprotobuf cannot parse the bytes as an ONNX ModelProto", message);
    }
    std::string external = firstExternalTensor(model);
    if (!external.empty()) {
        return finish(
            RKD_ONNX_CHECK_NOT_RUN,
            "tensor '" + external + "' keeps its data in an external file; the checker was not run, because "
                + "libonnx 1.12 would look its location up on this machine's file system",
            message);
    }
    const int libraryIR = static_cast<int>(onnx::Version::IR_VERSION);
    if ((options & RKD_ONNX_CHECK_CLAMP_IR_VERSION) != 0 && model.ir_version() > libraryIR) {
        model.set_ir_version(libraryIR);
    }
    try {
        onnx::checker::check_model(model);
    } catch (const onnx::checker::ValidationError &error) {
        return finish(RKD_ONNX_CHECK_INVALID, error.what(), message);
    }
    if ((options & RKD_ONNX_CHECK_INFER_SHAPES) != 0) {
        try {
            onnx::ShapeInferenceOptions inference(/*check_type=*/false, /*strict_mode=*/0, /*data_prop=*/false);
            onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), inference);
        } catch (const onnx::InferenceError &error) {
            return finish(RKD_ONNX_CHECK_INVALID, std::string("shape inference: ") + error.what(), message);
        } catch (const onnx::checker::ValidationError &error) {
            return finish(RKD_ONNX_CHECK_INVALID, std::string("shape inference: ") + error.what(), message);
        }
    }
    return finish(RKD_ONNX_CHECK_VALID, std::string(), message);
}

} // namespace

extern "C" rkd_onnx_check_status rkd_onnx_check_model(
    const void *bytes, size_t length, int options, char **message) noexcept {
    if (message != nullptr) *message = nullptr;
    try {
        return check(bytes, length, options, message);
    } catch (const std::bad_alloc &) {
        return finishLiteral(RKD_ONNX_CHECK_INTERNAL_ERROR, "libonnx ran out of memory checking the model", message);
    } catch (const std::exception &error) {
        // libonnx also throws std::runtime_error (ONNX_THROW) and std::out_of_range from its helpers.
        try {
            return finish(
                RKD_ONNX_CHECK_INVALID, std::string("libonnx failed checking the model: ") + error.what(), message);
        } catch (...) {
            return finishLiteral(RKD_ONNX_CHECK_INTERNAL_ERROR, "libonnx failed checking the model", message);
        }
    } catch (...) {
        return finishLiteral(RKD_ONNX_CHECK_INTERNAL_ERROR, "libonnx threw an exception of an unknown type", message);
    }
}

extern "C" void rkd_onnx_free_message(char *message) noexcept { std::free(message); }

extern "C" int rkd_onnx_highest_opset(const char *domain) noexcept {
    try {
        std::string name = domain == nullptr ? std::string() : std::string(domain);
        if (name == "ai.onnx") name.clear();
        const auto &ranges = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
        auto found = ranges.find(name);
        return found == ranges.end() ? -1 : found->second.second;
    } catch (...) {
        return -1;
    }
}

extern "C" int rkd_onnx_ir_version(void) noexcept { return static_cast<int>(onnx::Version::IR_VERSION); }
