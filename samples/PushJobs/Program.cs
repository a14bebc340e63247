// The seed's second example: joins the PrintArgs cluster as a client node (no workers, no queues),
// pushes one periodic job (Class printArgs, Args a b c, every 60 s, 3 retries), and leaves.
// usage: dotnet run --project samples/PushJobs [-- --seed akka.tcp://linda@127.0.0.1:4053]
using Akka.Cluster.Hosting;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Linda;
using Linda.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static Linda.JobQueue;

var seed = args.Length == 2 && args[0] == "--seed" ? args[1] : "akka.tcp://linda@127.0.0.1:4053";

using var host = new HostBuilder().ConfigureServices(services =>
{
    services.AddLindaClient();
    services.AddAkka("linda", (akka, _) => akka
        .AddHocon(ConfigurationFactory.ParseString("akka.loglevel = WARNING"), HoconAddMode.Prepend)
        .WithRemoting("127.0.0.1", 0)
        .WithClustering(new ClusterOptions { Roles = ["client"], SeedNodes = [seed] })
        .WithLinda(new LindaOptions
        {
            Queues = ["test"],
            QueueRole = "queues",
            WorkerRole = "workers",
            SqlitePath = Path.Combine(Path.GetTempPath(), $"linda-pushjobs-{Environment.ProcessId}.db"),
        }));
}).Build();

await host.StartAsync();
var linda = host.Services.GetRequiredService<ILindaClient>();
var push = new Push("test", JobPayload.Create("printArgs", "a", "b", "c"))
{
    Period = TimeSpan.FromSeconds(60),
    MaxRetries = 3,
};
var reply = await linda.PushAsync(push);
Console.WriteLine(reply is Pushed p ? $"pushed job {p.JobId} to queue 'test': printArgs a b c, every 60 s, 3 retries" : $"push failed: {reply}");
await host.StopAsync();
return reply is Pushed ? 0 : 1;
