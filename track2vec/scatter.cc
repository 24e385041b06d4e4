// Track2vecScatterAdd: table[indices[i], :] += updates[i, :] for each i in order, on the CPU.
//
// The same arithmetic, in the same order, as TensorFlow's ResourceScatterAdd (so the same bits),
// without its per-row overhead: TensorFlow's CPU kernel takes one of 1024 mutexes and evaluates
// an Eigen expression for every row, which costs 3-4x a plain loop over the row's floats
// (bench/profile_ops.py). Like TensorFlow's, it holds the variable's lock shared, so concurrent
// calls (the trainer's Hogwild workers) run side by side without locks between them.
// Built and loaded by track2vec/scatter.py.

#define EIGEN_USE_THREADS

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/resource_mgr.h"
#include "tensorflow/core/framework/resource_var.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/kernels/training_op_helpers.h"

namespace track2vec {

using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::Tensor;
using tensorflow::Var;

REGISTER_OP("Track2vecScatterAdd")
    .Input("table: resource")
    .Input("indices: Tindices")
    .Input("updates: float")
    .Attr("Tindices: {int32, int64}")
    .SetIsStateful()
    .SetShapeFn(tensorflow::shape_inference::NoOutputs)
    .Doc("table[indices[i], :] += updates[i, :] for each i in order (float32 table of rank 2).");

template <typename Index>
class ScatterAddOp : public OpKernel {
 public:
  explicit ScatterAddOp(OpKernelConstruction* c) : OpKernel(c) {}

  void Compute(OpKernelContext* c) override {
    tensorflow::core::RefCountPtr<Var> var;
    OP_REQUIRES_OK(c, LookupResource(c, HandleFromInput(c, 0), &var));
    // A sparse write needs the table's buffer to itself: copied first if a reader still holds it.
    OP_REQUIRES_OK(c, (tensorflow::EnsureSparseVariableAccess<Eigen::ThreadPoolDevice, float>(c, var.get())));
    const Tensor& indices = c->input(1);
    const Tensor& updates = c->input(2);
    tsl::tf_shared_lock lock(*var->mu());
    Tensor* table = var->tensor();
    OP_REQUIRES(c, table->dtype() == tensorflow::DT_FLOAT && table->dims() == 2,
                absl::InvalidArgumentError("Track2vecScatterAdd: the table must be a float32 matrix"));
    const int64_t rows = table->dim_size(0), cols = table->dim_size(1), n = indices.NumElements();
    OP_REQUIRES(c, indices.dims() == 1 && updates.dims() == 2 && updates.dim_size(0) == n && updates.dim_size(1) == cols,
                absl::InvalidArgumentError(absl::StrCat(
                    "Track2vecScatterAdd: updates must have shape [len(indices), ", cols, "], got ",
                    updates.shape().DebugString(), " for indices of shape ", indices.shape().DebugString())));
    const Index* index = indices.flat<Index>().data();
    const float* update = updates.flat<float>().data();
    float* data = table->flat<float>().data();
    // every index is checked before anything is written: a bad one leaves the table as it was
    for (int64_t i = 0; i < n; ++i) {
      OP_REQUIRES(c, index[i] >= 0 && index[i] < rows,
                  absl::InvalidArgumentError(absl::StrCat("Track2vecScatterAdd: indices[", i, "] = ", index[i],
                                                          " is outside the table's ", rows, " rows")));
    }
    for (int64_t i = 0; i < n; ++i) {
      float* __restrict__ dst = data + static_cast<int64_t>(index[i]) * cols;
      const float* __restrict__ src = update + i * cols;
      for (int64_t j = 0; j < cols; ++j) dst[j] += src[j];
    }
  }
};

REGISTER_KERNEL_BUILDER(
    Name("Track2vecScatterAdd").Device(tensorflow::DEVICE_CPU).TypeConstraint<int32_t>("Tindices"),
    ScatterAddOp<int32_t>);
REGISTER_KERNEL_BUILDER(
    Name("Track2vecScatterAdd").Device(tensorflow::DEVICE_CPU).TypeConstraint<int64_t>("Tindices"),
    ScatterAddOp<int64_t>);

}  // namespace track2vec
