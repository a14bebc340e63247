// Linda quickstart: one queue actor on a SQLite file, a worker actor that pulls jobs from it, and a mix
// of jobs (immediate, prioritised, delayed, periodic, one that fails twice then succeeds, one that is
// buried). Prints what happens and the final stats, then exits.
// usage: dotnet run --project samples/Quickstart [-- --data DIR]
using Akka.Actor;
using Akka.Configuration;
using Linda;
using Linda.Persistence;
using static Linda.JobQueue;

var dataDir = args.Length == 2 && args[0] == "--data"
    ? args[1]
    : Path.Combine(Path.GetTempPath(), $"linda-quickstart-{Environment.ProcessId}");
var dbPath = Path.Combine(dataDir, "linda.db");
if (File.Exists(dbPath))
    File.Delete(dbPath); // a fresh queue every run, so the output is always the same story
Console.WriteLine($"Linda quickstart: queue 'quickstart' on {dbPath} (SQLite, WAL, synchronous=FULL)");

var system = ActorSystem.Create("quickstart", SqlitePersistence.Setup(dbPath, ConfigurationFactory.ParseString("akka.loglevel = WARNING")));
var queue = system.ActorOf(JobQueueActor.Props("quickstart", LindaSettings.Create(system)), "quickstart");
var ask = TimeSpan.FromSeconds(30);

async Task Push(Push push, string what)
{
    var reply = await queue.Ask<IReply>(push, ask);
    Console.WriteLine(reply is Pushed p
        ? $"pushed  {p.JobId,-10} {push.Payload,-28} {what} ({p.State.ToString().ToLowerInvariant()})"
        : $"refused {push.Id,-10} {push.Payload,-28} {what}: {((IFailure)reply).Message}");
}

var finished = new TaskCompletionSource();
system.ActorOf(Props.Create(() => new Worker(queue, finished)), "worker");

await Push(new Push("quickstart", JobPayload.Create("printArgs", "hello", "world")) { Id = "hello" }, "priority 1024");
await Push(new Push("quickstart", JobPayload.Create("printArgs", "urgent")) { Id = "urgent", Priority = 0 }, "priority 0");
await Push(Later("quickstart", JobPayload.Create("printArgs", "a", "b", "c"), TimeSpan.FromSeconds(1)) with { Id = "later" }, "delayed 1 s");
await Push(new Push("quickstart", JobPayload.Create("flaky", 2)) { Id = "flaky", MaxRetries = 3 }, "fails twice, then works");
await Push(new Push("quickstart", JobPayload.Create("poison")) { Id = "poison", MaxRetries = 1 }, "always fails: buried after 1 retry");
await Push(new Push("quickstart", JobPayload.Create("heartbeat")) { Id = "heartbeat", Period = TimeSpan.FromSeconds(1) }, "periodic, every 1 s");
await Push(new Push("quickstart", JobPayload.Create("heartbeat")) { Id = "heartbeat" }, "same id again");

await finished.Task.WaitAsync(TimeSpan.FromMinutes(1));
var stats = await queue.Ask<QueueStats>(GetStats.Instance, ask);
var buried = await queue.Ask<JobView>(PeekBuried.Instance, ask);
Console.WriteLine($"buried  {buried.Job.Id}: {buried.LastError} (kick it to run it again)");
Console.WriteLine($"stats   ready={stats.Ready} delayed={stats.Delayed} reserved={stats.Reserved} buried={stats.Buried} total-jobs={stats.TotalJobs} pushes={stats.Commands["push"]} reserves={stats.Commands["reserve"]}");
await queue.Ask<Deleted>(new Delete("heartbeat"), ask);
await system.Terminate();
Console.WriteLine("done");

/// <summary>Pulls one job at a time, runs it, and answers complete, release (retry later) or bury.</summary>
sealed class Worker : ReceiveActor
{
    private readonly IActorRef _queue;
    private readonly TaskCompletionSource _finished;
    private int _heartbeats;
    private readonly HashSet<string> _settled = [];

    public Worker(IActorRef queue, TaskCompletionSource finished)
    {
        _queue = queue;
        _finished = finished;
        Receive<Reserved>(Run);
        Receive<ReserveTimedOut>(_ => Pull());
        Receive<IReply>(_ => { });
    }

    protected override void PreStart() => Pull();

    private void Pull() => _queue.Tell(new Reserve(TimeSpan.FromSeconds(5)));

    private void Run(Reserved r)
    {
        var job = r.Job;
        var line = $"run     {job.Id,-10} {job.Payload,-28} attempt {r.Attempt}";
        switch (job.Payload.Class)
        {
            case "printArgs":
                Console.WriteLine($"{line}: {string.Join(" ", job.Payload.ParseArgs().EnumerateArray())}");
                Done(new Complete(job.Id, r.Token), job.Id);
                break;
            case "flaky" when r.Attempt <= job.Payload.Arg<int>(0):
                Console.WriteLine($"{line}: failed, retry in 200 ms");
                Done(new Release(job.Id, r.Token) { Delay = TimeSpan.FromMilliseconds(200), Error = $"failure {r.Attempt}" }, null);
                break;
            case "flaky":
                Console.WriteLine($"{line}: worked");
                Done(new Complete(job.Id, r.Token), job.Id);
                break;
            case "poison" when r.Attempt > job.MaxRetries:
                Console.WriteLine($"{line}: failed, retries used up: bury");
                Done(new Bury(job.Id, r.Token, $"failed {r.Attempt} times: bad input"), job.Id);
                break;
            case "poison":
                Console.WriteLine($"{line}: failed, retry in 200 ms");
                Done(new Release(job.Id, r.Token) { Delay = TimeSpan.FromMilliseconds(200), Error = "bad input" }, null);
                break;
            case "heartbeat":
                _heartbeats++;
                Console.WriteLine($"{line}: beat {_heartbeats}");
                Done(new Complete(job.Id, r.Token), _heartbeats >= 2 ? job.Id : null);
                break;
            default:
                Done(new Bury(job.Id, r.Token, $"no handler for class '{job.Payload.Class}'"), job.Id);
                break;
        }
    }

    /// <summary>Sends the verdict and asks for the next job in the same breath.</summary>
    private void Done(ICommand verdict, string? settled)
    {
        _queue.Tell(verdict);
        if (settled is not null && _settled.Add(settled) && _settled.Count == 6)
            _finished.TrySetResult();
        Pull();
    }
}
