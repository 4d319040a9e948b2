// The FHIR client test's script (TestFHIRClient): fhir-kit-client, an
// existing FHIR client from npm, queries a running `vigie serve` through
// PDQm and PIXm. It prints what it received as one JSON object; the Go
// test decides what is right.
// Usage: VIGIE_FHIR=http://host:port/fhir VIGIE_TOKEN=… node fhir_client.mjs
import { Client } from 'fhir-kit-client';

const baseUrl = process.env.VIGIE_FHIR;
const client = new Client({ baseUrl, bearerToken: process.env.VIGIE_TOKEN });
const out = {};

// A refusal as the client reports it: the status and the
// OperationOutcome's first issue.
async function refused(p) {
  try {
    await p;
    return { status: 200 };
  } catch (e) {
    const issue = e.response?.data?.issue?.[0] ?? {};
    return { status: e.response?.status, code: issue.code, expression: issue.expression?.[0], diagnostics: issue.diagnostics };
  }
}

const cap = await client.capabilityStatement();
out.capability = { resourceType: cap.resourceType, fhirVersion: cap.fhirVersion,
  operations: cap.rest[0].resource[0].operation.map((o) => o.name) };

const p = await client.read({ resourceType: 'Patient', id: process.env.VIGIE_PATIENT });
const official = p.name.find((n) => n.use === 'official');
out.read = { id: p.id, family: official.family, given: official.given, birthDate: p.birthDate, gender: p.gender,
  identifiers: p.identifier.map((i) => `${i.system}|${i.value}`) };

const found = await client.search({ resourceType: 'Patient',
  searchParams: { family: official.family, given: official.given[0], birthdate: p.birthDate } });
out.search = found.entry.map((e) => e.resource.id);

const matched = await client.operation({ resourceType: 'Patient', name: '$match', method: 'POST', input: {
  resourceType: 'Parameters', parameter: [{ name: 'resource', resource: {
    resourceType: 'Patient', name: [{ use: 'official', family: official.family, given: official.given }],
    birthDate: p.birthDate, gender: p.gender } }, { name: 'count', valueInteger: 5 }] } });
out.match = matched.entry.map((e) => ({ id: e.resource.id, score: e.search.score,
  grade: e.search.extension.find((x) => x.url === 'http://hl7.org/fhir/StructureDefinition/match-grade').valueCode }));

const local = p.identifier.find((i) => i.type?.coding?.[0]?.code === 'PI');
const pix = await client.operation({ resourceType: 'Patient', name: '$ihe-pix', method: 'GET',
  input: { sourceIdentifier: `${local.system}|${local.value}` } });
out.pix = { source: `${local.system}|${local.value}`,
  targetId: pix.parameter.find((x) => x.name === 'targetId').valueReference.reference,
  targets: pix.parameter.filter((x) => x.name === 'targetIdentifier').map((x) => `${x.valueIdentifier.system}|${x.valueIdentifier.value}`) };

// Paging with the client's own nextPage over the next links.
let page = await client.search({ resourceType: 'Patient', searchParams: { family: official.family, _count: 1 } });
out.pages = [page.entry.map((e) => e.resource.id)];
while (out.pages.length < 3) {
  page = await client.nextPage({ bundle: page });
  if (!page) break;
  out.pages.push(page.entry.map((e) => e.resource.id));
}

out.notFound = await refused(client.read({ resourceType: 'Patient', id: '999999999' }));
out.badParam = await refused(client.search({ resourceType: 'Patient', searchParams: { family: official.family, birthdate: 'ge1950' } }));
out.noToken = await refused(new Client({ baseUrl }).read({ resourceType: 'Patient', id: p.id }));

console.log(JSON.stringify(out));
