// The same types from a CommonJS TypeScript file.
import { createGate, type Decision } from 'ecom9-gate';
import { expressGate } from 'ecom9-gate/express';
import express = require('express');

const gate = createGate({ apiKey: 'k' });
const app = express();
app.get('/', expressGate(gate, { accountRefId: () => 'a' }).requireEntitlement('p', 'e'), (req, res) => {
  const d: Decision | undefined = req.ecom9.decision;
  res.json(d);
});
