using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Cluster;
using Akka.Configuration;
using Akka.Remote.Transport.DotNetty;
using Linda.Hosting;
using Linda.Tests.Infrastructure;
using Xunit;
using static Linda.JobQueue;
using static Linda.Tests.Infrastructure.Conditions;

namespace Linda.Tests;

/// <summary>
/// Linda nodes whose remoting runs over mutual TLS (<see cref="LindaOptions.Tls"/>), each a generic host
/// with its own ActorSystem on a free loopback port, over one PostgreSQL journal, as in ClusterSpec.
/// Certificates are made at test time: an authority and a certificate it issues for each node; intruders
/// make their own. Cluster profile: Linda's fast failover profile (hocon/failover-fast.conf). A crash is
/// <see cref="LindaHost.CrashAsync"/> (the ActorSystem stops without leaving). What a node logs is kept
/// by <see cref="LogRecorder"/>.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class ClusterTlsSpec(PostgresFixture postgres) : IAsyncLifetime
{
    private static readonly TimeSpan Failover = TimeSpan.FromSeconds(90);
    // How long a refused sender waits for an answer that must never come (its messages are dropped
    // at once; this only bounds the ask).
    private static readonly TimeSpan NoAnswer = TimeSpan.FromSeconds(3);
    private const string Queue = "jobs";

    private static readonly X509Certificate2 Authority = TestCertificates.Authority("Linda test authority");
    private static readonly X509Certificate2 IntruderAuthority = TestCertificates.Authority("Intruder authority");

    private readonly List<LindaHost> _nodes = [];
    private readonly List<ActorSystem> _intruders = [];
    private readonly ConcurrentQueue<(string JobId, string Node)> _started = new();
    private readonly ConcurrentQueue<string> _finished = new();
    private string _database = "";

    public async Task InitializeAsync() => _database = await postgres.Server.CreateDatabaseAsync();

    public async Task DisposeAsync()
    {
        foreach (var intruder in _intruders)
            await intruder.Terminate();
        foreach (var node in Enumerable.Reverse(_nodes))
            await node.DisposeAsync();
    }

    private LindaOptions Options(LindaTlsOptions? tls) => new()
    {
        Queues = [Queue],
        WorkerNum = 2,
        ConnectionString = _database,
        ProviderName = PostgresStore.Provider,
        FailoverProfile = FailoverProfile.Fast,
        // Far beyond every bound here: a job that runs again did so because its holder was seen to die.
        DefaultTimeToRun = TimeSpan.FromMinutes(10),
        Tls = tls,
    };

    /// <summary>A node with a certificate from the cluster's authority, trusting that authority.</summary>
    private Task<LindaHost> StartNode(string name, LindaHost? seed) =>
        StartNode(name, seed?.Address, TestCertificates.Options(TestCertificates.Node(Authority, "linda-" + name), Authority));

    private async Task<LindaHost> StartNode(string name, Address? seed, LindaTlsOptions? tls, bool waitUntilUp = true)
    {
        var node = await LindaHost.StartAsync(Options(tls), h => h.Register("record", async ctx =>
        {
            _started.Enqueue((ctx.JobId, name));
            await Task.Delay(TimeSpan.FromMilliseconds(2), ctx.CancellationToken);
            _finished.Enqueue(ctx.JobId);
        }), seed, more: LogRecorder.Install, waitUntilUp: waitUntilUp);
        _nodes.Add(node);
        return node;
    }

    private static Push Record(string id) => new(Queue, JobPayload.Create("record")) { Id = id };

    /// <summary>A job of ours that stays in the queue through the spec (delayed far beyond it), for an intruder to aim at.</summary>
    private static Push Ours() => Record("ours") with { Delay = TimeSpan.FromHours(1) };

    private static Task<bool> HostsQueue(LindaHost node) => node.HostsAsync(Queue);

    /// <summary>The path of the queue's actor (without its address), whatever the placement, as the node hosting it answers <see cref="Locate"/>.</summary>
    private static async Task<string> QueuePath(LindaHost node) =>
        Assert.IsType<Located>(await node.Client.Queue(Queue).Ask<IReply>(Locate.Instance, TimeSpan.FromSeconds(10))).Queue.Path.ToStringWithoutAddress();

    private static string Members(LindaHost node) =>
        string.Join(", ", Cluster.Get(node.System).State.Members.Select(m => $"{m.Address} {m.Status}"));

    private static int Count(ActorSystem system, string text) => LogRecorder.Of(system).Count(l => l.Contains(text, StringComparison.Ordinal));

    private static string Log(ActorSystem system) => string.Join("\n", LogRecorder.Of(system).TakeLast(20));

    /// <summary>
    /// A command straight to the queue's actor (at <paramref name="path"/>) on <paramref name="target"/>, sent by
    /// <paramref name="sender"/> (no proxy, no cluster membership needed): the answer, or null if none came.
    /// (A message that can't be delivered goes to the sender's dead letters, which answer an
    /// <see cref="Identify"/> themselves, with no actor.)
    /// </summary>
    private static async Task<object?> SendToQueue(ActorSystem sender, Address target, string path, object command)
    {
        try
        {
            return await sender.ActorSelection($"{target}{path}").Ask<object>(command, NoAnswer);
        }
        catch (AskTimeoutException)
        {
            return null;
        }
    }

    [Fact]
    public async Task Three_nodes_on_mutual_TLS_lose_no_acknowledged_job_when_the_queues_node_crashes()
    {
        var a = await StartNode("a", null);
        var b = await StartNode("b", a);
        var c = await StartNode("c", a);
        Assert.All(new[] { a, b, c }, n => Assert.Equal(LindaTlsHostingExtensions.Protocol, n.Address.Protocol));
        await Until(() => Cluster.Get(a.System).State.Members.Count(m => m.Status == MemberStatus.Up) == 3, "three members Up");
        Assert.True(await HostsQueue(a), "the first node hosts the queue");

        var acknowledged = new ConcurrentDictionary<string, bool>();
        using var stop = new CancellationTokenSource();
        var producers = Task.WhenAll(b.ProduceAsync((_, id) => Record(id), "b", acknowledged, stop.Token), c.ProduceAsync((_, id) => Record(id), "c", acknowledged, stop.Token));
        await Until(() => acknowledged.Count >= 400 && _finished.Count >= 200, "jobs to flow over TLS");

        await a.CrashAsync();
        var atCrash = acknowledged.Count;
        await Until(() => acknowledged.Count >= atCrash + 300, "pushes to be acknowledged again after the crash", Failover);
        await stop.CancelAsync();
        await producers;

        Assert.True(await HostsQueue(b) || await HostsQueue(c), "the queue moved to a surviving node");
        await Until(async () => await b.Client.GetStatsAsync(Queue) is QueueStats { Jobs: 0 }, "the queue to be empty", Failover);
        var finished = _finished.ToHashSet();
        var lost = acknowledged.Keys.Where(id => !finished.Contains(id)).ToArray();
        Assert.True(lost.Length == 0, $"{lost.Length} acknowledged jobs never completed, e.g. {string.Join(", ", lost.Take(5))}");
        var twiceOnSurvivors = _started.Where(r => r.Node != "a").GroupBy(r => r.JobId).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
        Assert.True(twiceOnSurvivors.Length == 0, $"ran twice on surviving nodes: {string.Join(", ", twiceOnSurvivors.Take(10))}");
        // Nothing was refused between the cluster's own nodes.
        Assert.All(new[] { b, c }, n => Assert.Equal(0, Count(n.System, "linda: TLS: refused")));
    }

    [Fact]
    public async Task A_node_with_a_certificate_from_another_authority_can_not_join_and_its_log_says_why()
    {
        var a = await StartNode("a", null);
        // An operator's mistake or an intruder: a certificate from an authority of its own, which it trusts.
        var intruder = await StartNode("intruder", a.Address,
            TestCertificates.Options(TestCertificates.Node(IntruderAuthority, "intruder"), IntruderAuthority), waitUntilUp: false);

        // It refuses the cluster's certificate, says why, and stops itself (Akka stops a node whose outbound
        // TLS handshake fails); the cluster refuses its certificate too, and says why.
        await intruder.System.WhenTerminated.WaitAsync(Bound);
        Assert.True(LogRecorder.Logged(intruder.System, $"linda: TLS: refused the connection with ssl.tcp://linda@127.0.0.1:{a.Address.Port}: " +
                                                        "its certificate 'CN=linda-a' (issued by 'CN=Linda test authority'"), Log(intruder.System));
        Assert.True(LogRecorder.Logged(intruder.System, "is not issued by 'CN=Intruder authority' (self-signed"), Log(intruder.System));
        // The cluster's side: under TLS 1.3 the intruder checks the cluster's certificate before it sends its
        // own, so when it hangs up first the cluster only sees the handshake fail; when the cluster gets to
        // check the intruder's certificate, it says why.
        await Until(() => Count(a.System, "its certificate 'CN=intruder' (issued by 'CN=Intruder authority'") > 0
                          || Count(a.System, "due to TLS handshake failure") > 0, "the cluster to log the refusal", detail: () => Log(a.System));
        if (Count(a.System, "its certificate 'CN=intruder'") > 0)
            Assert.True(LogRecorder.Logged(a.System, "is not issued by 'CN=Linda test authority' (self-signed"), Log(a.System));
        Assert.Equal($"{a.Address} Up", Members(a));
    }

    [Fact]
    public async Task A_node_with_a_self_made_certificate_is_refused_at_start_saying_why()
    {
        var a = await StartNode("a", null);
        var tls = TestCertificates.Options(TestCertificates.SelfSigned("intruder"), Authority);

        var e = await Xunit.Record.ExceptionAsync(() => StartNode("intruder", a.Address, tls, waitUntilUp: false));

        var messages = string.Join(" / ", Causes(e));
        Assert.Contains("TLS: this node's certificate would be refused by the other nodes: its certificate 'CN=intruder' (self-signed", messages);
        Assert.Contains("is not issued by 'CN=Linda test authority'", messages);
        Assert.Equal($"{a.Address} Up", Members(a));
    }

    [Fact]
    public async Task An_intruder_that_accepts_any_certificate_can_neither_join_nor_send_a_queue_a_command()
    {
        var a = await StartNode("a", null);
        await Until(() => HostsQueue(a), "the node to host the queue");
        Assert.IsType<Pushed>(await a.Client.PushAsync(Ours()));
        var path = await QueuePath(a);

        // Not a Linda node: an ActorSystem with a self-made certificate, TLS validation off, Linda's
        // serializer, trying to join and to push straight to the queue's actor.
        var intruder = StartIntruder(TestCertificates.SelfSigned("intruder"));
        Cluster.Get(intruder).JoinSeedNodes([a.Address]);
        await Until(() => Count(a.System, "its certificate 'CN=intruder' (self-signed") >= 1, "the cluster to refuse the intruder's join",
            detail: () => Log(a.System));

        Assert.Null(await SendToQueue(intruder, a.Address, path, Record("intruder-push")));
        Assert.Null(await SendToQueue(intruder, a.Address, path, new Complete("ours", 1)));
        Assert.True(await SendToQueue(intruder, a.Address, path, new Identify("who")) is null or ActorIdentity { Subject: null }, "the queue was identified");
        await Until(() => Count(a.System, "its certificate 'CN=intruder' (self-signed") >= 2, "a second attempt refused too", detail: () => Log(a.System));

        Assert.IsType<NotFound>(await a.Client.GetJobAsync(Queue, "intruder-push"));
        Assert.Equal(JobState.Delayed, Assert.IsType<JobView>(await a.Client.GetJobAsync(Queue, "ours")).State);
        Assert.Equal($"{a.Address} Up", Members(a));
        Assert.NotEqual(MemberStatus.Up, Cluster.Get(intruder).SelfMember.Status);
    }

    [Fact]
    public async Task A_node_without_TLS_can_not_talk_to_TLS_nodes()
    {
        var a = await StartNode("a", null);
        Assert.IsType<Pushed>(await a.Client.PushAsync(Ours()));
        var path = await QueuePath(a);
        // The TLS node's port, as a plain address: the only way a plain node can even try.
        var plainAddress = new Address("akka.tcp", "linda", "127.0.0.1", a.Address.Port);
        var plain = await StartNode("plain", plainAddress, tls: null, waitUntilUp: false);
        await Until(() => Count(a.System, "not an SSL/TLS record") >= 1, "the TLS node to refuse the plain connection", detail: () => Log(a.System));

        Assert.Null(await SendToQueue(plain.System, plainAddress, path, Record("plain-push")));
        Assert.True(await SendToQueue(plain.System, plainAddress, path, new Identify("who")) is null or ActorIdentity { Subject: null }, "the queue was identified");
        await Until(() => Count(a.System, "not an SSL/TLS record") >= 2, "a second attempt refused too", detail: () => Log(a.System));

        Assert.IsType<NotFound>(await a.Client.GetJobAsync(Queue, "plain-push"));
        Assert.Equal($"{a.Address} Up", Members(a));
        Assert.NotEqual(MemberStatus.Up, Cluster.Get(plain.System).SelfMember.Status);
    }

    private ActorSystem StartIntruder(X509Certificate2 certificate)
    {
        var config = ConfigurationFactory.ParseString($"""
            akka.actor.provider = cluster
            akka.loglevel = WARNING
            akka.loggers = ["{typeof(LogRecorder).FullName}, {typeof(LogRecorder).Assembly.GetName().Name}"]
            akka.remote.dot-netty.tcp.hostname = 127.0.0.1
            akka.remote.dot-netty.tcp.port = 0
            akka.remote.dot-netty.tcp.enable-ssl = on
            """).WithFallback(LindaSettings.DefaultConfig);
        var setup = ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(config),
            new DotNettySslSetup(certificate, suppressValidation: true, requireMutualAuthentication: true));
        var intruder = ActorSystem.Create("linda", setup);
        _intruders.Add(intruder);
        return intruder;
    }

    private static IEnumerable<string> Causes(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
            yield return e.Message;
    }
}
