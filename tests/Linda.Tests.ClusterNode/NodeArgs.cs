using System.Globalization;

namespace Linda.Tests.ClusterNode;

/// <summary>The node's command line (see Program.cs).</summary>
internal sealed record NodeArgs(
    int Port,
    IReadOnlyList<string> Seeds,
    string Postgres,
    FailoverProfile Profile,
    int Workers,
    string Name,
    int WorkMs,
    int AskTimeoutMs,
    int PushWindow,
    string Hocon,
    string? TlsCert,
    string? TlsPassword,
    string? TlsCa,
    QueuePlacement? Placement,
    IReadOnlyList<string> Queues,
    IReadOnlyDictionary<string, int> Partitions,
    bool Watch)
{
    /// <summary>The queue a node serves when --queues is not given.</summary>
    public const string DefaultQueue = "jobs";

    /// <exception cref="ArgumentException">A missing, unknown or malformed argument.</exception>
    public static NodeArgs Parse(string[] args)
    {
        int? port = null;
        string? postgres = null;
        var seeds = new List<string>();
        var profile = FailoverProfile.Fast;
        var workers = 4;
        string? name = null;
        var workMs = 10;
        var askTimeoutMs = 10_000;
        var pushWindow = 32;
        var hocon = "";
        string? tlsCert = null, tlsPassword = null, tlsCa = null;
        // Unset: LINDA_TEST_PLACEMENT's (the test run's), else Linda's default.
        var queues = new List<string>();
        var partitions = new Dictionary<string, int>(StringComparer.Ordinal);
        var watch = true;
        var placement = Environment.GetEnvironmentVariable("LINDA_TEST_PLACEMENT") is { Length: > 0 } fromEnv ? ParsePlacement(fromEnv) : (QueuePlacement?)null;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i - 1])
            {
                case "--cluster-port": port = Int(value); break;
                case "--seed": seeds.Add(value); break;
                case "--postgres": postgres = value; break;
                case "--profile": profile = ParseProfile(value); break;
                case "--workers": workers = Int(value); break;
                case "--name": name = value; break;
                case "--work-ms": workMs = Int(value); break;
                case "--ask-timeout-ms": askTimeoutMs = Int(value); break;
                case "--push-window": pushWindow = Math.Max(1, Int(value)); break;
                case "--hocon": hocon = value; break;
                case "--tls-cert": tlsCert = value; break;
                case "--tls-password": tlsPassword = value; break;
                case "--tls-ca": tlsCa = value; break;
                case "--placement": placement = ParsePlacement(value); break;
                case "--queues": queues.AddRange(value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)); break;
                case "--partitions": AddPartitions(partitions, value); break;
                case "--watch": watch = ParseOnOff(value); break;
                default: throw new ArgumentException($"unknown option {args[i - 1]}");
            }
        }
        if (port is null || postgres is null)
            throw new ArgumentException("usage: Linda.Tests.ClusterNode --cluster-port N --postgres CONNECTION_STRING [--seed ADDRESS]... " +
                                        "[--name NAME] [--profile fast|production|default] [--workers N] [--work-ms N] [--ask-timeout-ms N] [--push-window N] [--hocon TEXT] " +
                                        "[--tls-cert PFX [--tls-password PASSWORD] [--tls-ca CA_CERT]] [--placement sharded|singleton] " +
                                        "[--queues A,B,...] [--partitions QUEUE=P]... [--watch on|off]");
        if (tlsCert is null && (tlsPassword is not null || tlsCa is not null))
            throw new ArgumentException("--tls-password and --tls-ca go with --tls-cert");
        tlsPassword ??= Environment.GetEnvironmentVariable(PasswordVariable);
        if (queues.Count == 0)
            queues.Add(DefaultQueue);
        if (queues.Distinct(StringComparer.Ordinal).Count() != queues.Count)
            throw new ArgumentException($"--queues names a queue twice: {string.Join(",", queues)}");
        if (partitions.Keys.FirstOrDefault(q => !queues.Contains(q)) is { } stray)
            throw new ArgumentException($"--partitions {stray}=...: '{stray}' is not one of the queues ({string.Join(",", queues)})");
        return new NodeArgs(port.Value, seeds, postgres, profile, workers, name ?? $"node-{port}", workMs, askTimeoutMs, pushWindow, hocon, tlsCert, tlsPassword, tlsCa, placement,
            queues, partitions, watch);
    }

    /// <summary>Where the certificate's password comes from without --tls-password (as for Linda.Server).</summary>
    public const string PasswordVariable = "LINDA_TLS_PASSWORD";

    /// <summary>The TLS options, or null: plain TCP.</summary>
    public Linda.Hosting.LindaTlsOptions? Tls => TlsCert is null
        ? null
        : new Linda.Hosting.LindaTlsOptions { CertificatePath = TlsCert, CertificatePassword = TlsPassword, TrustedAuthorityPath = TlsCa };

    private static FailoverProfile ParseProfile(string value) => value switch
    {
        "fast" => FailoverProfile.Fast,
        "production" => FailoverProfile.Production,
        "default" => FailoverProfile.AkkaDefaults,
        _ => throw new ArgumentException($"unknown profile '{value}' (fast, production or default)"),
    };

    private static QueuePlacement ParsePlacement(string value) => value.ToLowerInvariant() switch
    {
        "sharded" => QueuePlacement.Sharded,
        "singleton" => QueuePlacement.Singleton,
        _ => throw new ArgumentException($"unknown placement '{value}' (sharded or singleton)"),
    };

    // QUEUE=P, e.g. jobs=6.
    private static void AddPartitions(Dictionary<string, int> partitions, string value)
    {
        var at = value.LastIndexOf('=');
        if (at <= 0 || !int.TryParse(value[(at + 1)..], CultureInfo.InvariantCulture, out var count) || count < 1)
            throw new ArgumentException($"--partitions takes QUEUE=P (P at least 1), not '{value}'");
        partitions[value[..at]] = count;
    }

    private static bool ParseOnOff(string value) => value.ToLowerInvariant() switch
    {
        "on" or "true" => true,
        "off" or "false" => false,
        _ => throw new ArgumentException($"'{value}' is not on or off"),
    };

    private static int Int(string value) =>
        int.TryParse(value, CultureInfo.InvariantCulture, out var n) && n >= 0 ? n : throw new ArgumentException($"'{value}' is not a count");
}
