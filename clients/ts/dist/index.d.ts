export * from "./gen/cloudcockpit/v1/reseller_pb.js";
export * from "./gen/cloudcockpit/v1/reseller_service_pb.js";
export * from "./gen/cloudcockpit/v1/customer_service_pb.js";
export * from "./errors.js";
