using Akka.Actor;
using Akka.Cluster.Sharding;
using Linda.Hosting;
using Linda.Tests.Infrastructure;
using Xunit;
using static Linda.JobQueue;

namespace Linda.Tests;

/// <summary>
/// <see cref="QueueRegion"/>, the queues' shard region for hosts that make queues at run time (the
/// beanstalkd server's tubes): on a one-node cluster (SQLite) it is the region <c>WithLinda</c> started,
/// a route reaches a queue no option named, and that queue is the queue of its name: a node of the
/// singleton placement that names it finds its jobs (one persistence id, <c>linda-queue-NAME</c>).
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class QueueRegionSpec : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private LindaOptions Options(QueuePlacement placement, params string[] queues) =>
        new() { Queues = queues, Placement = placement, WorkerRole = "workers", SqlitePath = _folder.File("linda.db") }; // no workers here

    [Fact]
    public async Task A_route_reaches_a_queue_made_at_run_time_which_is_the_queue_of_its_name_on_either_placement()
    {
        await using (var node = await LindaHost.StartAsync(Options(QueuePlacement.Sharded, "declared")))
        {
            var region = QueueRegion.Start(node.System, LindaSettings.Create(node.System));
            Assert.Equal(ClusterSharding.Get(node.System).ShardRegion(QueueRegion.TypeName), region);
            var route = node.System.ActorOf(QueueRegion.Route("made-later", region));
            Assert.IsType<Pushed>(await route.Ask<IReply>(new Push("made-later", TestJobs.Payload("work")) { Id = "j1" }, Timeout));
            var located = await route.Ask<IReply>(Locate.Instance, Timeout);
            Assert.True(located is Located { Queue.Path.Address.HasLocalScope: true }, $"located: {located}");
            Assert.Contains("made-later", await node.ShardedQueuesAsync());
            Assert.DoesNotContain("made-later", node.Client.Queues); // not an option's queue
        }

        await using var other = await LindaHost.StartAsync(Options(QueuePlacement.Singleton, "made-later"));
        Assert.True(await other.Client.GetJobAsync("made-later", "j1") is JobView { State: JobState.Ready }, "the job pushed through the route");
    }

    [Fact]
    public void A_route_to_a_bad_queue_name_is_refused()
    {
        Assert.Throws<ArgumentException>(() => QueueRegion.Route("", ActorRefs.Nobody));
        Assert.Throws<ArgumentException>(() => QueueRegion.Route("a b", ActorRefs.Nobody));
    }
}
