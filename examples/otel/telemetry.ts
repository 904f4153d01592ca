// The OpenTelemetry Node SDK for the example: metrics served to Prometheus on /metrics, spans sent
// wherever OTEL_TRACES_EXPORTER says (none unless you set it: `console`, or `otlp` for a collector).
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { NodeSDK } from '@opentelemetry/sdk-node';

export function startTelemetry(metricsPort: number): { sdk: NodeSDK; ready: Promise<void> } {
  process.env.OTEL_TRACES_EXPORTER ??= 'none';
  process.env.OTEL_LOGS_EXPORTER ??= 'none';
  let started: () => void = () => {};
  const ready = new Promise<void>((r) => (started = r));
  const prometheus = new PrometheusExporter({ port: metricsPort, host: '127.0.0.1' }, () => started());
  const sdk = new NodeSDK({ serviceName: 'ecom9-gate-example', metricReaders: [prometheus], instrumentations: [] });
  sdk.start();
  return { sdk, ready };
}
