// A minimal C++ client, as a compiler pass would embed it: check health, analyze IR, then
// predict its latency.
//
//   costmodel_client HOST:PORT FILE.mlir [TOKEN]
//
// Prints "health SERVING", "flops N bytes M ops K" and "predict latency V [LO, HI] model M";
// exits non-zero with the gRPC status on failure. Every call carries a deadline.
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include <grpcpp/grpcpp.h>

#include "grpc_health/v1/health.grpc.pb.h"
#include "proto/costmodel/v1/costmodel_service.grpc.pb.h"

namespace {

void SetDeadlineAndToken(grpc::ClientContext& ctx, const std::string& token, int seconds) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
}

int Fail(const char* what, const grpc::Status& status) {
  std::cerr << what << " failed: code " << status.error_code() << ": " << status.error_message()
            << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: " << argv[0] << " HOST:PORT FILE.mlir [TOKEN]\n";
    return 2;
  }
  const std::string target = argv[1];
  const std::string token = argc > 3 ? argv[3] : "";
  std::ifstream in(argv[2]);
  if (!in) {
    std::cerr << "cannot read " << argv[2] << "\n";
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();

  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());

  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext hctx;
  SetDeadlineAndToken(hctx, token, 10);
  grpc::health::v1::HealthCheckRequest hreq;
  grpc::health::v1::HealthCheckResponse hresp;
  grpc::Status status = health->Check(&hctx, hreq, &hresp);
  if (!status.ok()) return Fail("Health.Check", status);
  std::cout << "health "
            << grpc::health::v1::HealthCheckResponse::ServingStatus_Name(hresp.status()) << "\n";

  auto costmodel = costmodel::v1::CostModelService::NewStub(channel);
  grpc::ClientContext actx;
  SetDeadlineAndToken(actx, token, 30);
  costmodel::v1::AnalyzeRequest areq;
  areq.set_mlir(text.str());
  areq.set_filename(argv[2]);
  costmodel::v1::AnalyzeResponse aresp;
  status = costmodel->Analyze(&actx, areq, &aresp);
  if (!status.ok()) return Fail("CostModelService.Analyze", status);
  std::cout << "flops " << aresp.total().flops() << " bytes " << aresp.total().bytes() << " ops "
            << aresp.total().n_ops() << "\n";

  // Predict the default schedule's latency (skipped when the server has no model).
  grpc::ClientContext pctx;
  SetDeadlineAndToken(pctx, token, 30);
  costmodel::v1::PredictRequest preq;
  preq.set_mlir(text.str());
  preq.add_targets("latency");
  costmodel::v1::PredictResponse presp;
  status = costmodel->Predict(&pctx, preq, &presp);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    std::cout << "predict no-model\n";
    return 0;
  }
  if (!status.ok()) return Fail("CostModelService.Predict", status);
  const auto& t = presp.candidates(0).targets(0);
  std::cout << "predict " << t.target() << " " << t.value() << " [" << t.lower() << ", "
            << t.upper() << "] model " << presp.model() << "\n";
  return 0;
}
