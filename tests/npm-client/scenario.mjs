// A job's whole life driven by a third-party beanstalkd client (jackd, from npm), against the server
// on 127.0.0.1:PORT: `node scenario.mjs PORT`. Prints each step, then "OK" on the last line; on the
// first mismatch it prints what it expected and what came, and exits with 1.
import Jackd from 'jackd';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node scenario.mjs PORT');
  process.exit(2);
}

// A server that stops answering must not hang the caller: give up after a minute.
const watchdog = setTimeout(() => {
  console.error('FAIL: the scenario did not finish within 60 s (a reply never came?)');
  process.exit(1);
}, 60_000);

const tube = 'npm-client';
const text = 'hello from jackd';
// jackd 2.2.2 sends a string as its UTF-8 bytes but a Buffer as JSON (typeof 'object'), so the binary
// body is a string: CRLF, NUL and a two-byte UTF-8 character inside.
const binary = 'a\r\n\0b\u00e9\r\n';

function check(condition, what, actual) {
  if (!condition)
    throw new Error(`${what}; got ${JSON.stringify(actual)}`);
}

/** The YAML dictionary of stats-job / stats-tube as an object of strings. */
function parseStats(yaml) {
  const stats = {};
  for (const line of yaml.split('\n').slice(1)) {
    const at = line.indexOf(': ');
    if (at > 0)
      stats[line.slice(0, at)] = line.slice(at + 2);
  }
  return stats;
}

async function expectJobStats(client, id, expected) {
  const stats = parseStats(await client.statsJob(id));
  for (const [key, value] of Object.entries(expected))
    check(stats[key] === String(value), `stats-job ${id}: ${key} should be ${value}`, stats);
}

/** Runs the command, which must be answered with the error reply `word`. */
async function expectError(word, what, command) {
  let result;
  try {
    result = await command();
  } catch (error) {
    // jackd throws Error(reply) for the replies a command expects, InvalidResponseError for others
    const reply = error.response ?? error.message;
    check(reply === word, `${what} should answer ${word}`, reply);
    return;
  }
  check(false, `${what} should answer ${word}`, result);
}

const client = new Jackd();
try {
  await client.connect({ host: '127.0.0.1', port });
} catch (error) {
  console.error(`FAIL: can't connect to 127.0.0.1:${port}: ${error.message}`);
  process.exit(1);
}
const step = (name) => console.log(`- ${name}`);

try {
  step('use, watch and ignore');
  const using = await client.use(tube);
  check(using === tube, `use ${tube} should answer USING ${tube}`, using);
  const watching = await client.watch(tube);
  check(watching === 2, `watch ${tube} should watch 2 tubes`, watching);
  const left = await client.ignore('default');
  check(left === 1, 'ignore default should leave 1 watched tube', left);
  const used = await client.listTubeUsed();
  check(used === tube, `list-tube-used should be ${tube}`, used);

  step('put a text job and a binary job');
  const first = await client.put(text, { priority: 5, ttr: 60 });
  const second = await client.put(binary, { priority: 20, ttr: 60 });
  check(/^\d+$/.test(first) && /^\d+$/.test(second) && first !== second, 'put should give two distinct numeric ids', [first, second]);

  step('peek and stats-job of a ready job');
  const peeked = await client.peek(first);
  check(peeked.id === first && peeked.payload.toString() === text, `peek ${first} should find the text job`, peeked);
  await expectJobStats(client, first, { id: first, tube, state: 'ready', pri: 5, ttr: 60, reserves: 0 });

  step('reserve takes the most urgent job');
  let job = await client.reserveWithTimeout(10);
  check(job.id === first && job.payload.toString() === text, `reserve should give job ${first} (priority 5)`, job);
  await expectJobStats(client, first, { state: 'reserved', reserves: 1 });
  await client.touch(first);

  step('release with a delay');
  await client.release(first, { priority: 5, delay: 1 });
  await expectJobStats(client, first, { state: 'delayed', releases: 1, delay: 1 });
  const delayed = await client.peekDelayed();
  check(delayed.id === first, `peek-delayed should find job ${first}`, delayed);

  step('the binary job comes back byte for byte, and is buried');
  job = await client.reserveWithTimeout(0);
  check(job.id === second && Buffer.compare(job.payload, Buffer.from(binary)) === 0, `reserve should give the binary job ${second} intact`, { id: job.id, payload: [...job.payload] });
  await client.bury(second, 20);
  const buried = await client.peekBuried();
  check(buried.id === second, `peek-buried should find job ${second}`, buried);

  step('the delayed job is reserved again once its delay is over');
  job = await client.reserveWithTimeout(10);
  check(job.id === first && job.payload.toString() === text, `reserve should give job ${first} again after its delay`, job);
  await expectJobStats(client, first, { state: 'reserved', reserves: 2, releases: 1 });

  step('bury, kick, reserve, delete');
  await client.bury(first, 7);
  await expectJobStats(client, first, { state: 'buried', pri: 7, buries: 1 });
  await expectError('TIMED_OUT', 'reserve-with-timeout 0 with every job buried', () => client.reserveWithTimeout(0));
  const kicked = await client.kick(10);
  check(kicked === 2, 'kick 10 should kick the 2 buried jobs', kicked);
  job = await client.reserveWithTimeout(10);
  check(job.id === first, `reserve after the kick should give job ${first} (priority 7)`, job);
  await expectJobStats(client, first, { state: 'reserved', kicks: 1, reserves: 3 });
  await client.delete(first);
  job = await client.reserveWithTimeout(10);
  check(job.id === second, `reserve should then give job ${second}`, job);
  await client.delete(second);

  step('the deleted jobs are gone');
  await expectError('NOT_FOUND', `peek ${first} after delete`, () => client.peek(first));
  await expectError('NOT_FOUND', `stats-job ${second} after delete`, () => client.statsJob(second));
  await expectError('TIMED_OUT', 'reserve-with-timeout 0 on an empty tube', () => client.reserveWithTimeout(0));
  const tubeStats = parseStats(await client.statsTube(tube));
  for (const [key, value] of Object.entries({ name: tube, 'current-jobs-ready': 0, 'current-jobs-buried': 0, 'total-jobs': 2 }))
    check(tubeStats[key] === String(value), `stats-tube ${tube}: ${key} should be ${value}`, tubeStats);
} catch (error) {
  console.error(`FAIL: ${error.message}`);
  process.exit(1);
}

await client.quit();
clearTimeout(watchdog);
console.log('OK');
