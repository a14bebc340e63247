using System.Diagnostics;
using System.Globalization;
using RabbitMQ.Client;
using Xunit;

namespace Linda.Tests.Infrastructure;

/// <summary>
/// A real, throw-away RabbitMQ (Debian's <c>rabbitmq-server</c>) on free loopback ports, with its data,
/// logs and Erlang cookie in a temp folder and an epmd of its own on a port of its own (so it never
/// meets another node's, nor leaves one behind). It can be stopped and started again on the same data
/// (a server restart). Everything it started is killed on dispose. Not installed: it fails saying so,
/// never skipped. Shared by the RabbitMQ specs (<see cref="RabbitMqCollection"/>): it takes seconds to start.
/// </summary>
public sealed class RabbitMqServer : IAsyncLifetime
{
    private const string Scripts = "/usr/lib/rabbitmq/bin";
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(90);

    private readonly TempFolder _folder = new("linda-rabbitmq");
    private readonly System.Text.StringBuilder _output = new();
    private Process? _epmd;
    private Process? _node;

    /// <summary>The AMQP port on 127.0.0.1.</summary>
    public int Port { get; private set; }

    /// <summary>The node's name, for rabbitmqctl.</summary>
    public string NodeName { get; private set; } = "";

    private int _distPort;
    private int _epmdPort;

    /// <summary>The URL the bridge takes: <c>amqp://guest:guest@127.0.0.1:PORT/</c>.</summary>
    public string Url => $"amqp://guest:guest@127.0.0.1:{Port}/";

    /// <summary>True while the node runs (between <see cref="StopAsync"/> and <see cref="StartAsync"/> it does not).</summary>
    public bool Running => _node is { HasExited: false };

    public async Task InitializeAsync()
    {
        if (!File.Exists(Path.Combine(Scripts, "rabbitmq-server")))
            throw new InvalidOperationException("rabbitmq-server is not installed: apt-get install rabbitmq-server (.ci/run does)");
        Port = TestPrograms.FreePort();
        _distPort = TestPrograms.FreePort();
        _epmdPort = TestPrograms.FreePort();
        NodeName = $"linda-test-{Port}@localhost";
        File.WriteAllText(_folder.File("enabled_plugins"), "[].");
        _epmd = Start("/usr/bin/epmd", ["-port", _epmdPort.ToString(CultureInfo.InvariantCulture), "-address", "127.0.0.1"]);
        await Conditions.Until(() => Listening(_epmdPort) || _epmd.HasExited, "epmd to listen", TimeSpan.FromSeconds(30)); // else the node would start one itself
        await StartAsync();
    }

    /// <summary>Starts the node (again, on the same data) and returns once AMQP answers.</summary>
    public async Task StartAsync()
    {
        if (Running)
            throw new InvalidOperationException("the node runs already");
        _node = Start(Path.Combine(Scripts, "rabbitmq-server"), []);
        var deadline = DateTime.UtcNow + StartBound;
        while (DateTime.UtcNow < deadline && !_node.HasExited)
        {
            try
            {
                await using var connection = await Factory().CreateConnectionAsync();
                return;
            }
            catch (Exception e) when (e is global::RabbitMQ.Client.Exceptions.BrokerUnreachableException or IOException)
            {
                await Task.Delay(200); // a probe's pace while the node boots
            }
        }
        throw new InvalidOperationException($"rabbitmq-server did not answer on port {Port} within {StartBound.TotalSeconds} s (exited: {_node.HasExited}); its output:\n{Output}");
    }

    /// <summary>
    /// Stops the node as its service would (SIGTERM: Erlang's orderly stop), or, with <paramref name="kill"/>,
    /// SIGKILLs it (a crash), and waits until it is gone. Durable queues and persistent messages stay on disk.
    /// </summary>
    public async Task StopAsync(bool kill = false)
    {
        if (_node is not { } node)
            return;
        if (!node.HasExited)
        {
            if (kill)
                node.Kill(entireProcessTree: true);
            else
                Process.Start("kill", ["-TERM", node.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await node.WaitForExitAsync(bound.Token);
        }
        node.Dispose();
        _node = null;
    }

    /// <summary>Runs <c>rabbitmqctl</c> on the node (e.g. <c>list_queues name messages_unacknowledged</c>) and returns what it printed.</summary>
    public async Task<string> CtlAsync(params string[] args)
    {
        var start = new ProcessStartInfo(Path.Combine(Scripts, "rabbitmqctl"), ["-n", NodeName, "-q", .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        SetEnvironment(start);
        using var ctl = Process.Start(start)!;
        var stdout = ctl.StandardOutput.ReadToEndAsync();
        var stderr = ctl.StandardError.ReadToEndAsync();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await ctl.WaitForExitAsync(bound.Token);
        return ctl.ExitCode == 0 ? await stdout : throw new InvalidOperationException($"rabbitmqctl {string.Join(" ", args)} exited {ctl.ExitCode}: {await stderr}");
    }

    /// <summary>A queue's (ready, unacknowledged) counts, as the server counts them.</summary>
    public async Task<(int Ready, int Unacked)> CountsAsync(string queue)
    {
        foreach (var line in (await CtlAsync("list_queues", "name", "messages_ready", "messages_unacknowledged")).Split('\n'))
        {
            var cells = line.Split('\t');
            if (cells.Length == 3 && cells[0] == queue)
                return (int.Parse(cells[1], CultureInfo.InvariantCulture), int.Parse(cells[2], CultureInfo.InvariantCulture));
        }
        throw new InvalidOperationException($"no queue '{queue}' on the node");
    }

    /// <summary>A connection factory for the spec's own producers and readers.</summary>
    public ConnectionFactory Factory() => new() { Uri = new Uri(Url), AutomaticRecoveryEnabled = false };

    /// <summary>What the node and epmd printed (for failure messages).</summary>
    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    private static bool Listening(int port)
    {
        try
        {
            using var client = new System.Net.Sockets.TcpClient();
            client.Connect(System.Net.IPAddress.Loopback, port);
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private Process Start(string executable, string[] args)
    {
        var start = new ProcessStartInfo(executable, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        SetEnvironment(start);
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private void SetEnvironment(ProcessStartInfo start)
    {
        var env = start.Environment;
        env["HOME"] = _folder.Path; // the Erlang cookie, shared by the node and rabbitmqctl
        env["ERL_EPMD_PORT"] = _epmdPort.ToString(CultureInfo.InvariantCulture);
        env["RABBITMQ_NODENAME"] = NodeName;
        env["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1";
        env["RABBITMQ_NODE_PORT"] = Port.ToString(CultureInfo.InvariantCulture);
        env["RABBITMQ_DIST_PORT"] = _distPort.ToString(CultureInfo.InvariantCulture);
        env["RABBITMQ_MNESIA_BASE"] = _folder.File("mnesia");
        env["RABBITMQ_LOG_BASE"] = _folder.File("log");
        env["RABBITMQ_ENABLED_PLUGINS_FILE"] = _folder.File("enabled_plugins");
        env["RABBITMQ_CONFIG_FILE"] = _folder.File("rabbitmq"); // none: the defaults, not the machine's
    }

    public async Task DisposeAsync()
    {
        foreach (var process in new[] { _node, _epmd })
        {
            if (process is null)
                continue;
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
            process.Dispose();
        }
        _folder.Dispose();
    }
}
