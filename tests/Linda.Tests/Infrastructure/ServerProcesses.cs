using System.Globalization;
using System.Net.Sockets;
using Linda.Tests.Beanstalk;
using Xunit;

namespace Linda.Tests.Infrastructure;

/// <summary>
/// What the specs of real Linda.Server processes share: the servers and beanstalkd clients a test
/// starts (every one stopped when it ends, the processes first), a data folder, waits that fail with
/// what the servers printed, and <see cref="WithLogs"/>, which adds that to any failure.
/// </summary>
public abstract class ServerProcesses(string folder) : IDisposable
{
    /// <summary>How long a server has to start (print LISTENING) and a started cluster to settle.</summary>
    protected static readonly TimeSpan StartBound = TimeSpan.FromSeconds(60);

    /// <summary>How long a tube may take to be served again after its node died.</summary>
    protected static readonly TimeSpan FailoverBound = TimeSpan.FromSeconds(90);

    private const string LogsHeader = "==== what the servers printed";

    private readonly List<BeanstalkClient> _clients = [];

    /// <summary>The servers the test started, in order.</summary>
    protected List<LindaServerProcess> Servers { get; } = [];

    /// <summary>The test's folder (data directories, config files).</summary>
    protected TempFolder Data { get; } = new(folder);

    /// <summary>Cancelled when the test ends: it stops the background clients of a test that failed.</summary>
    protected CancellationTokenSource Disposing { get; } = new();

    /// <inheritdoc />
    public void Dispose()
    {
        Disposing.Cancel();
        // The processes first: whatever else goes wrong, none outlives the test.
        foreach (var server in Servers)
            server.Dispose();
        BeanstalkClient[] clients;
        lock (_clients)
            clients = [.. _clients];
        foreach (var client in clients)
            client.Dispose();
        Data.Dispose();
        GC.SuppressFinalize(this);
    }

    protected LindaServerProcess Start(string name, int port, params string[] options)
    {
        var server = LindaServerProcess.Start(name, port, options);
        Servers.Add(server);
        return server;
    }

    protected async Task Listen(LindaServerProcess server)
    {
        try
        {
            var port = await server.Listening.WaitAsync(StartBound);
            Assert.Equal(server.Port, port);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            Assert.Fail($"{server.Name} did not print LISTENING within {StartBound.TotalSeconds} s: {e.Message}\n{Logs()}");
        }
    }

    private protected async Task<BeanstalkClient> Connect(int port, string name)
    {
        var client = await BeanstalkClient.Connect(port, name);
        lock (_clients)
            _clients.Add(client);
        return client;
    }

    /// <summary>
    /// Three servers of one cluster on the PostgreSQL database <paramref name="db"/>, fast failover, with
    /// <paramref name="config"/> (a HOCON file) over their settings; n1 is the seed. Returns once each answers <c>stats</c>.
    /// </summary>
    protected async Task<List<LindaServerProcess>> StartClusterOf3(string db, string config)
    {
        var clusterPorts = Enumerable.Range(0, 3).Select(_ => TestPrograms.FreePort()).ToArray();
        var ports = Enumerable.Range(0, 3).Select(_ => TestPrograms.FreePort()).ToArray();
        var seed = $"akka.tcp://linda@127.0.0.1:{clusterPorts[0]}";
        LindaServerProcess StartNode(int i) => Start($"n{i + 1}", ports[i],
            "--cluster-port", clusterPorts[i].ToString(CultureInfo.InvariantCulture), "--seed", seed, "--postgres", db, "--profile", "fast", "--config", config);
        var nodes = new List<LindaServerProcess> { StartNode(0) };
        await Listen(nodes[0]);
        nodes.Add(StartNode(1));
        nodes.Add(StartNode(2));
        foreach (var node in nodes)
        {
            await Listen(node);
            await Until(async () => await Answers(node.Port), StartBound, $"{node.Name} answers stats");
        }
        return nodes;
    }

    /// <summary>Whether a server on <paramref name="port"/> answers beanstalkd's <c>stats</c>.</summary>
    protected static async Task<bool> Answers(int port)
    {
        try
        {
            using var c = await BeanstalkClient.Connect(port, "probe");
            return (await c.AskYaml("stats")).Data is not null;
        }
        catch (Exception e) when (e is IOException or SocketException or EndOfStreamException or TimeoutException)
        {
            return false;
        }
    }

    protected async Task Within(Task task, TimeSpan bound, string what)
    {
        try
        {
            await task.WaitAsync(bound);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"not within {bound.TotalSeconds} s: {what}\n{Logs()}");
        }
    }

    protected Task Until(Func<bool> condition, TimeSpan bound, string what, Func<string>? detail = null) =>
        Conditions.Until(condition, what, bound, () => (detail?.Invoke() ?? "") + "\n" + Logs());

    protected Task Until(Func<Task<bool>> condition, TimeSpan bound, string what, Func<string>? detail = null) =>
        Conditions.Until(condition, what, bound, () => (detail?.Invoke() ?? "") + "\n" + Logs());

    /// <summary>What every server printed lately, under a header <see cref="WithLogs"/> knows.</summary>
    protected string Logs() => LogsHeader + "\n" + string.Join("\n", Servers.Select(s => s.RecentLog()));

    /// <summary>Runs a test; a failure whose message lacks the servers' output gets it added.</summary>
    protected async Task WithLogs(Func<Task> test)
    {
        try
        {
            await test();
        }
        catch (Exception e) when (!e.Message.Contains(LogsHeader, StringComparison.Ordinal))
        {
            throw new Xunit.Sdk.XunitException($"{e}\n{Logs()}");
        }
    }
}
