// The FHIR dose client test's script (TestFHIRClientDose): fhir-kit-client,
// an existing FHIR client from npm, searches a running `vigie serve` for
// the dose summaries of the patients VIGIE_PATIENTS names (ids separated
// by commas) until one has some, then reads the first back by its id. It
// prints what it received as one JSON object; the Go test decides what is
// right.
// Usage: VIGIE_FHIR=http://host:port/fhir VIGIE_TOKEN=… VIGIE_PATIENTS=1,2,3 node fhir_dose_client.mjs
import { Client } from 'fhir-kit-client';

const client = new Client({ baseUrl: process.env.VIGIE_FHIR, bearerToken: process.env.VIGIE_TOKEN });
const out = { searched: 0 };

for (const patient of process.env.VIGIE_PATIENTS.split(',')) {
  const bundle = await client.search({ resourceType: 'Observation', searchParams: { patient, code: 'http://loinc.org|73569-6' } });
  out.searched++;
  if ((bundle.entry ?? []).length === 0) {
    continue;
  }
  out.patient = patient;
  out.total = bundle.total;
  out.found = bundle.entry.map((e) => e.resource);
  out.read = await client.read({ resourceType: 'Observation', id: bundle.entry[0].resource.id });
  break;
}
try {
  await client.read({ resourceType: 'Observation', id: '9.9.9.9' });
  out.unknown = { status: 200 };
} catch (e) {
  out.unknown = { status: e.response?.status, code: e.response?.data?.issue?.[0]?.code };
}
console.log(JSON.stringify(out));
