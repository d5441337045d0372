// The Helm chart's values.schema.json: the chart's own keys, with `config` being streamgate's
// config schema (so a typo under `config:` fails `helm install`, not the pods).
import { configJsonSchema } from '../src/config/json-schema.js';

type Schema = Record<string, unknown>;
const str: Schema = { type: 'string' };
const bool: Schema = { type: 'boolean' };
const int = (min = 0): Schema => ({ type: 'integer', minimum: min });
const port: Schema = { type: 'integer', minimum: 1, maximum: 65535 };
const obj: Schema = { type: 'object' };
const arr: Schema = { type: 'array' };
const strMap: Schema = { type: 'object', additionalProperties: { type: 'string' } };
const nullable = (s: Schema): Schema => ({ anyOf: [s, { type: 'null' }] });
const strict = (properties: Record<string, Schema>, extra: Schema = {}): Schema => ({ type: 'object', properties, additionalProperties: false, ...extra });

export function chartValuesSchema(): Schema {
  const { $schema, title: _title, ...config } = configJsonSchema();
  return {
    $schema,
    title: 'streamgate Helm chart values',
    ...strict({
      global: obj,
      mode: { type: 'string', enum: ['deployment', 'sidecar'] },
      nameOverride: str,
      fullnameOverride: str,
      commonLabels: strMap,
      image: strict({ repository: { type: 'string', minLength: 1 }, tag: str, digest: { type: 'string', pattern: '^(|sha256:[a-f0-9]{64})$' }, pullPolicy: { type: 'string', enum: ['Always', 'IfNotPresent', 'Never'] } }),
      imagePullSecrets: arr,
      replicaCount: int(0),
      revisionHistoryLimit: int(0),
      updateStrategy: obj,
      config: { ...config, description: 'streamgate config.yaml (see config.example.yaml); ${VAR} references are resolved by streamgate at start' },
      existingSecret: str,
      secrets: { type: 'object', propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }, additionalProperties: nullable({ type: 'string' }) },
      secretVolume: strict({ enabled: bool, mountPath: str }),
      bindAddress: str,
      containerPorts: strict({ http: port, admin: port }),
      logLevel: { type: 'string', enum: ['', 'fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
      extraEnv: arr,
      extraEnvFrom: arr,
      livenessProbe: obj,
      readinessProbe: obj,
      startupProbe: obj,
      preStopSleepSeconds: int(0),
      terminationGracePeriodSeconds: int(1),
      resources: obj,
      podSecurityContext: obj,
      securityContext: obj,
      serviceAccount: strict({ create: bool, name: str, annotations: strMap, automountServiceAccountToken: bool }),
      deploymentAnnotations: strMap,
      podAnnotations: strMap,
      podLabels: strMap,
      priorityClassName: str,
      extraVolumes: arr,
      extraVolumeMounts: arr,
      nodeSelector: strMap,
      tolerations: arr,
      affinity: obj,
      topologySpreadConstraints: arr,
      service: strict({
        type: { type: 'string', enum: ['ClusterIP', 'NodePort', 'LoadBalancer'] },
        port,
        nodePort: nullable(port),
        externalTrafficPolicy: { type: 'string', enum: ['', 'Cluster', 'Local'] },
        annotations: strMap,
        labels: strMap,
      }),
      adminService: strict({ enabled: bool, port, annotations: strMap, labels: strMap }),
      podDisruptionBudget: strict({ enabled: bool, minAvailable: nullable({ type: ['integer', 'string'] }), maxUnavailable: nullable({ type: ['integer', 'string'] }), unhealthyPodEvictionPolicy: { type: 'string', enum: ['', 'IfHealthyBudget', 'AlwaysAllow'] } }),
      autoscaling: strict({ enabled: bool, minReplicas: int(1), maxReplicas: int(1), targetCPUUtilizationPercentage: nullable(int(1)), targetMemoryUtilizationPercentage: nullable(int(1)), behavior: obj }),
      origin: strict({ namespace: str, podLabels: { ...strMap, minProperties: 1 }, mediaPorts: { type: 'array', items: port, minItems: 1 }, httpPort: port, replicas: int(1) }),
      sidecar: strict({ containerName: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' } }),
      networkPolicy: strict({
        enabled: bool,
        publicFrom: arr,
        adminFrom: arr,
        origin: strict({ enabled: bool, mediaFrom: arr, allowPeers: bool, openPorts: arr, extraIngress: arr }),
      }),
      ingress: strict({ enabled: bool, className: str, annotations: strMap, hosts: { type: 'array', items: strict({ host: str, paths: arr }) }, tls: arr }),
      httpRoute: strict({ enabled: bool, annotations: strMap, parentRefs: arr, hostnames: { type: 'array', items: str }, rules: arr }),
      extraContainers: arr,
      initContainers: arr,
      extraObjects: { type: 'array', items: { type: ['object', 'string'] } },
      serviceMonitor: strict({ enabled: bool, namespace: str, labels: strMap, interval: str, scrapeTimeout: str, relabelings: arr, metricRelabelings: arr }),
    }),
  };
}
