// A process for CrashSpec to kill with SIGKILL: it pushes jobs to a queue on a SQLite file as
// fast as the journal takes them, completes and buries some, and prints one line per acknowledgement.
// usage: Linda.Tests.CrashHost DB_PATH
using Akka.Actor;
using Akka.Configuration;
using Linda;
using Linda.Persistence;
using static Linda.JobQueue;

var db = args.Length == 1 ? args[0] : throw new ArgumentException("usage: Linda.Tests.CrashHost DB_PATH");
var system = ActorSystem.Create("crash", SqlitePersistence.Setup(db, ConfigurationFactory.ParseString("akka.loglevel = WARNING")));
var queue = system.ActorOf(JobQueueActor.Props("crash", LindaSettings.Create(system)), "queue");
var timeout = TimeSpan.FromSeconds(60);
// Big payloads make each journal write take a while, so a crash lands with many writes in flight.
var filler = new string('x', 30_000);
Console.WriteLine("STARTED");

using var window = new SemaphoreSlim(64);
for (var i = 0; ; i++)
{
    await window.WaitAsync();
    var id = $"job-{i}";
    _ = Task.Run(async () =>
    {
        try
        {
            if (await queue.Ask<IReply>(new Push("crash", JobPayload.Create("work", i, filler)) { Id = id }, timeout) is not Pushed)
                throw new InvalidOperationException("push refused");
            Console.WriteLine($"ACK {id}");
            if (i % 7 == 3 && await queue.Ask<IReply>(new Reserve(TimeSpan.Zero), timeout) is Reserved r)
            {
                var verdict = i % 2 == 0 ? (object)new Complete(r.Job.Id, r.Token) : new Bury(r.Job.Id, r.Token, "crash test");
                // Said before it is sent: a crash may land after the verdict is in the journal but
                // before its acknowledgement is printed.
                Console.WriteLine($"SENDING {r.Job.Id}");
                var reply = await queue.Ask<IReply>(verdict, timeout);
                Console.WriteLine(reply switch
                {
                    Completed c => $"DONE {c.JobId}",
                    Buried b => $"BURIED {b.JobId}",
                    _ => $"FAILED {reply}",
                });
            }
        }
        finally
        {
            window.Release();
        }
    });
}
