// A C++ load generator for Predict, the way compiler passes call the service.
//
//   costmodel_load HOST:PORT FILE.mlir CALLS CONCURRENCY SECONDS [TOKEN]
//
// 1. CALLS sequential Predict calls (one in flight): per-call latency.
// 2. CONCURRENCY calls kept in flight on one completion queue for SECONDS: throughput.
// Prints one JSON object: {"p50_ms", "p99_ms", "qps", "calls", "errors", "seconds",
// "client_cpu_us_per_call"}. A C++ client costs the server's machine far less CPU per call than
// Python's, so on 2 cores it shows what the server itself sustains.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "proto/costmodel/v1/costmodel_service.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using costmodel::v1::CostModelService;
using costmodel::v1::PredictRequest;
using costmodel::v1::PredictResponse;

struct Call {
  grpc::ClientContext ctx;
  PredictResponse resp;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<PredictResponse>> reader;
};

void Prepare(grpc::ClientContext& ctx, const std::string& token) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
}

Call* Launch(CostModelService::Stub& stub, grpc::CompletionQueue& cq, const PredictRequest& req,
             const std::string& token) {
  auto* call = new Call;
  Prepare(call->ctx, token);
  call->reader = stub.PrepareAsyncPredict(&call->ctx, req, &cq);
  call->reader->StartCall();
  call->reader->Finish(&call->resp, &call->status, call);
  return call;
}

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  // Linear interpolation between closest ranks, as numpy.percentile does by default.
  double pos = q / 100.0 * (v.size() - 1);
  size_t lo = static_cast<size_t>(pos);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::cerr << "usage: " << argv[0] << " HOST:PORT FILE.mlir CALLS CONCURRENCY SECONDS [TOKEN]\n";
    return 2;
  }
  const std::string target = argv[1];
  const int calls = std::stoi(argv[3]);
  const int concurrency = std::stoi(argv[4]);
  const double seconds = std::stod(argv[5]);
  const std::string token = argc > 6 ? argv[6] : "";
  if (calls < 1 || concurrency < 1 || seconds <= 0) {
    std::cerr << "CALLS and CONCURRENCY must be >= 1 and SECONDS > 0\n";
    return 2;
  }
  std::ifstream in(argv[2]);
  if (!in) {
    std::cerr << "cannot read " << argv[2] << "\n";
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  PredictRequest req;
  req.set_mlir(text.str());

  auto stub = CostModelService::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  long errors = 0;

  // Sequential latency; the first calls warm the server's caches.
  std::vector<double> lat;
  for (int i = 0; i < calls + 20; ++i) {
    grpc::ClientContext ctx;
    Prepare(ctx, token);
    PredictResponse resp;
    auto t0 = Clock::now();
    grpc::Status status = stub->Predict(&ctx, req, &resp);
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!status.ok()) {
      std::cerr << "Predict failed: code " << status.error_code() << ": "
                << status.error_message() << "\n";
      return 1;
    }
    if (i >= 20) lat.push_back(ms);
  }

  // Throughput: keep `concurrency` calls in flight until the time is up, then drain.
  grpc::CompletionQueue cq;
  double cpu0 = CpuSeconds();
  auto t0 = Clock::now();
  auto stop = t0 + std::chrono::duration_cast<Clock::duration>(
                       std::chrono::duration<double>(seconds));
  int in_flight = 0;
  for (; in_flight < concurrency; ++in_flight) Launch(*stub, cq, req, token);
  long done = 0;
  void* tag;
  bool ok;
  while (in_flight > 0 && cq.Next(&tag, &ok)) {
    auto* call = static_cast<Call*>(tag);
    if (ok && call->status.ok()) {
      ++done;
    } else {
      ++errors;
    }
    delete call;
    --in_flight;
    if (Clock::now() < stop) {
      Launch(*stub, cq, req, token);
      ++in_flight;
    }
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  double cpu = CpuSeconds() - cpu0;
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }

  std::cout << "{\"p50_ms\": " << Percentile(lat, 50) << ", \"p99_ms\": " << Percentile(lat, 99)
            << ", \"qps\": " << done / elapsed << ", \"calls\": " << calls
            << ", \"errors\": " << errors << ", \"seconds\": " << elapsed
            << ", \"client_cpu_us_per_call\": " << (done ? cpu / done * 1e6 : 0) << "}\n";
  return errors ? 1 : 0;
}
