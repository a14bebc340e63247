using System.Globalization;
using System.Net;

namespace Linda.Server;

/// <summary>The server's command line (see <see cref="Usage"/>).</summary>
internal sealed record ServerArgs
{
    public const string Usage = """
        usage: Linda.Server [--port N] [--bind ADDRESS] [--data DIR] [--max-job-size BYTES]
                            [--cluster-port N] [--cluster-host ADDRESS] [--seed ADDRESS]... [--postgres CONNECTION_STRING]
                            [--tls-cert PFX [--tls-password PASSWORD] [--tls-ca CA_CERT]]
                            [--profile production|fast|default] [--verdicts early|durable] [--config FILE]
                            [--http-port N] [--http-host ADDRESS] [--redis URL [--redis-queue NAME]...]
                            [--amqp URL --amqp-queue NAME[=TUBE]... [--amqp-outcomes EXCHANGE]]
          --port          the beanstalkd port (default 11300)
          --bind          the address it listens on (default 127.0.0.1)
          --data          the folder of the SQLite file, linda.db (default ./linda-data)
          --max-job-size  the largest job body in bytes, beanstalkd's -z (default 65535)
          --cluster-port  the Akka remoting port (default 4053 with --seed, else any free port)
          --cluster-host  the address remoting listens on and other nodes reach it at (default 127.0.0.1); an
                          address other than loopback needs --tls-cert
          --seed          a seed node, e.g. akka.tcp://linda@127.0.0.1:4053 (repeatable; akka.ssl.tcp://... with
                          --tls-cert); none: the node seeds itself
          --tls-cert      remoting over mutual TLS: this node's certificate and key, a PKCS#12 file (.pfx); every
                          connection between nodes presents one on both ends, and a peer whose certificate is
                          not from --tls-ca (without it: not this same certificate) is refused
          --tls-password  the PKCS#12 file's password (default: the LINDA_TLS_PASSWORD environment variable,
                          which other users can't read in the process list)
          --tls-ca        the certificate (PEM or DER, no key) of the authority that issues the cluster's
                          certificates
          --postgres      a shared PostgreSQL journal instead of SQLite (e.g. Host=127.0.0.1;Port=5432;Username=linda;Database=linda)
          --profile       how fast a crashed node's tubes move: production (default), fast, or default (Akka's own)
          --verdicts      when delete, release, bury and touch are answered: early (default; the write follows at
                          once, and a crash just before it runs the job again) or durable (once written). A put
                          is always answered once it is written.
          --config        a HOCON file whose keys go over the server's (linda.*, akka.*; see hocon/linda.conf)
          --http-port     also serve the dashboard's JSON API at http://HOST:N/linda, every tube a queue
                          (default 0: no HTTP listener at all)
          --http-host     the address the HTTP port listens on (default 127.0.0.1; on any address the
                          dashboard serves requests from loopback only)
          --redis         take the Go Linda's jobs out of this Redis (redis://host:port/ or host:port) into the
                          tubes of the same names: queue:NAME and queue:NAME:delayed into tube NAME
          --redis-queue   only this queue (repeatable; default: every queue:NAME found, watched for new ones)
          --amqp          take the messages of RabbitMQ queues (amqp://user:password@host:port/vhost) into tubes:
                          a body {"class": ..., "args": [...]} (or raw bytes with an x-linda-class header),
                          the message id the job id; acknowledged once the job is written
          --amqp-queue    a RabbitMQ queue to take, into the tube of the same name or NAME=TUBE (repeatable;
                          at least one with --amqp; the queue must exist)
          --amqp-outcomes publish each completion and burial of those tubes to this exchange (routing key
                          TUBE.completed or TUBE.buried; at most once)
        """;

    public int Port { get; init; } = 11300;
    public IPAddress Bind { get; init; } = IPAddress.Loopback;
    public string Data { get; init; } = "linda-data";
    public int MaxJobSize { get; init; } = 65_535;
    public int ClusterPort { get; init; }

    /// <summary>Where remoting listens, and the host of this node's cluster address.</summary>
    public IPAddress ClusterHost { get; init; } = IPAddress.Loopback;

    /// <summary>TLS between the nodes (<c>--tls-cert</c>), or null: plain TCP.</summary>
    public Linda.Hosting.LindaTlsOptions? Tls { get; init; }

    /// <summary>Where the certificate's password comes from without <c>--tls-password</c>.</summary>
    public const string PasswordVariable = "LINDA_TLS_PASSWORD";
    public IReadOnlyList<string> Seeds { get; init; } = [];
    public string? Postgres { get; init; }
    public FailoverProfile Profile { get; init; } = FailoverProfile.Production;
    public bool EarlyVerdicts { get; init; } = true;
    public Akka.Configuration.Config? ExtraConfig { get; init; }

    /// <summary>The dashboard's HTTP port; 0: no HTTP listener.</summary>
    public int HttpPort { get; init; }

    /// <summary>The address of the HTTP port.</summary>
    public IPAddress HttpHost { get; init; } = IPAddress.Loopback;

    /// <summary>The RabbitMQ bridge's options (<c>--amqp</c>), or null: no bridge.</summary>
    public Linda.RabbitMQ.RabbitMqBridgeOptions? Amqp { get; init; }

    /// <summary>The Redis bridge's options (<c>--redis</c>), or null: no bridge.</summary>
    public Linda.Redis.RedisBridgeOptions? Redis { get; init; }

    /// <exception cref="ArgumentException">A missing, unknown or malformed argument, with what is wrong.</exception>
    public static ServerArgs Parse(string[] args)
    {
        var parsed = new ServerArgs();
        var seeds = new List<string>();
        int? clusterPort = null;
        IPAddress? httpHost = null;
        var redisQueues = new List<string>();
        var amqpQueues = new List<Linda.RabbitMQ.BridgedQueue>();
        string? amqpUrl = null, amqpOutcomes = null;
        string? tlsCert = null, tlsPassword = null, tlsCa = null;
        for (var i = 0; i < args.Length; i++)
        {
            var option = args[i];
            if (option is "-h" or "--help")
                throw new ArgumentException(Usage);
            var value = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{option} needs a value");
            parsed = option switch
            {
                "--port" => parsed with { Port = PortOf(option, value) },
                "--bind" => parsed with { Bind = AddressOf(option, value) },
                "--data" => parsed with { Data = value.Length > 0 ? value : throw new ArgumentException("--data: empty folder name") },
                "--max-job-size" => parsed with { MaxJobSize = Int(option, value, 1, 1 << 30) },
                "--cluster-port" => parsed with { ClusterPort = (clusterPort = PortOf(option, value)).Value },
                "--cluster-host" => parsed with { ClusterHost = AddressOf(option, value) },
                "--seed" => Seed(parsed, seeds, value),
                "--tls-cert" => Set(parsed, ref tlsCert, value),
                "--tls-password" => Set(parsed, ref tlsPassword, value),
                "--tls-ca" => Set(parsed, ref tlsCa, value),
                "--postgres" => parsed with { Postgres = value.Length > 0 ? value : throw new ArgumentException("--postgres: empty connection string") },
                "--profile" => parsed with { Profile = ParseProfile(value) },
                "--verdicts" => parsed with
                {
                    EarlyVerdicts = value switch
                    {
                        "early" => true,
                        "durable" => false,
                        _ => throw new ArgumentException($"--verdicts: '{value}' is neither early nor durable"),
                    },
                },
                "--config" => parsed with { ExtraConfig = ReadConfig(value) },
                "--http-port" => parsed with { HttpPort = PortOf(option, value) },
                "--http-host" => parsed with { HttpHost = httpHost = AddressOf(option, value) },
                "--redis" => parsed with { Redis = RedisOf(value) },
                "--redis-queue" => Add(parsed, redisQueues, option, value),
                "--amqp" => Set(parsed, ref amqpUrl, value),
                "--amqp-queue" => AddAmqp(parsed, amqpQueues, value),
                "--amqp-outcomes" => Set(parsed, ref amqpOutcomes, value),
                _ => throw new ArgumentException($"unknown option {option}\n{Usage}"),
            };
        }
        if (httpHost is not null && parsed.HttpPort == 0)
            throw new ArgumentException("--http-host: there is no --http-port to listen on (0 or none: no HTTP listener)");
        if (redisQueues.Count > 0 && parsed.Redis is null)
            throw new ArgumentException("--redis-queue: there is no --redis to take it from");
        if (parsed.Redis is { } redis && redisQueues.Count > 0)
            redis.Queues = redisQueues;
        parsed = parsed with { Tls = TlsOf(tlsCert, tlsPassword, tlsCa) };
        CheckCluster(parsed, seeds);
        if (amqpUrl is not null || amqpQueues.Count > 0 || amqpOutcomes is not null)
            parsed = parsed with { Amqp = AmqpOf(amqpUrl, amqpQueues, amqpOutcomes) };
        return parsed with
        {
            Seeds = seeds,
            // A cluster member needs a known address; a lone server takes any free port.
            ClusterPort = clusterPort ?? (seeds.Count > 0 ? 4053 : 0),
        };
    }

    private static ServerArgs Seed(ServerArgs parsed, List<string> seeds, string value)
    {
        if (!Akka.Actor.Address.TryParse(value, out var address) || address.Port is null)
            throw new ArgumentException($"--seed: '{value}' is not an Akka address like akka.tcp://linda@127.0.0.1:4053");
        if (address.System != "linda")
            throw new ArgumentException($"--seed: '{value}' names ActorSystem '{address.System}'; Linda's is 'linda'");
        seeds.Add(value);
        return parsed;
    }

    private static Linda.Hosting.LindaTlsOptions? TlsOf(string? cert, string? password, string? ca)
    {
        if (cert is null)
        {
            if (password is not null || ca is not null)
                throw new ArgumentException($"{(password is not null ? "--tls-password" : "--tls-ca")}: there is no --tls-cert it goes with");
            return null;
        }
        var tls = new Linda.Hosting.LindaTlsOptions
        {
            CertificatePath = cert,
            CertificatePassword = password ?? Environment.GetEnvironmentVariable(PasswordVariable),
            TrustedAuthorityPath = ca,
        };
        try
        {
            tls.Load(); // a certificate the other nodes would refuse stops the server here, saying why
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"--tls-cert: {e.Message}");
        }
        return tls;
    }

    private static void CheckCluster(ServerArgs parsed, List<string> seeds)
    {
        var scheme = parsed.Tls is null ? "akka.tcp" : Linda.Hosting.LindaTlsHostingExtensions.Protocol;
        foreach (var seed in seeds)
        {
            if (Akka.Actor.Address.Parse(seed).Protocol != scheme)
                throw new ArgumentException(parsed.Tls is null
                    ? $"--seed: '{seed}' is a TLS address; give --tls-cert to reach it, or akka.tcp://..."
                    : $"--seed: '{seed}': with --tls-cert the seeds are TLS nodes, {scheme}://linda@HOST:PORT");
        }
        if (parsed.ClusterHost.Equals(IPAddress.Any) || parsed.ClusterHost.Equals(IPAddress.IPv6Any))
            throw new ArgumentException($"--cluster-host: {parsed.ClusterHost} is no address other nodes can reach this one at; give the node's own address");
        if (!IPAddress.IsLoopback(parsed.ClusterHost) && parsed.Tls is null)
            throw new ArgumentException($"--cluster-host: remoting on {parsed.ClusterHost} without --tls-cert would let anyone who reaches that port join the cluster and send any command; give --tls-cert (and --tls-ca)");
    }

    private static Linda.Redis.RedisBridgeOptions RedisOf(string value)
    {
        // Tubes are made on first use: every queue:NAME found becomes the tube NAME.
        var redis = new Linda.Redis.RedisBridgeOptions { Redis = value, MakesQueues = true };
        try
        {
            redis.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"--redis: {e.Message}");
        }
        return redis;
    }

    private static ServerArgs Set(ServerArgs parsed, ref string? option, string value)
    {
        option = value;
        return parsed;
    }

    private static ServerArgs AddAmqp(ServerArgs parsed, List<Linda.RabbitMQ.BridgedQueue> queues, string value)
    {
        var (name, tube) = value.IndexOf('=') is var at and >= 0 ? (value[..at], value[(at + 1)..]) : (value, value);
        if (name.Length == 0)
            throw new ArgumentException($"--amqp-queue: '{value}' has no RabbitMQ queue name (NAME or NAME=TUBE)");
        if (Names.Check(tube, "tube name") is { } invalid)
            throw new ArgumentException($"--amqp-queue: {invalid}");
        queues.Add(new Linda.RabbitMQ.BridgedQueue(name, tube));
        return parsed;
    }

    private static Linda.RabbitMQ.RabbitMqBridgeOptions AmqpOf(string? url, List<Linda.RabbitMQ.BridgedQueue> queues, string? outcomes)
    {
        if (url is null)
            throw new ArgumentException(queues.Count > 0 ? "--amqp-queue: there is no --amqp to take it from" : "--amqp-outcomes: there is no --amqp to publish to");
        if (queues.Count == 0)
            throw new ArgumentException("--amqp: name the RabbitMQ queues to take with --amqp-queue NAME (repeatable)");
        var amqp = new Linda.RabbitMQ.RabbitMqBridgeOptions { Url = url, Queues = queues, OutcomeExchange = outcomes };
        try
        {
            amqp.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"--amqp: {e.Message}");
        }
        return amqp;
    }

    private static ServerArgs Add(ServerArgs parsed, List<string> names, string option, string value)
    {
        if (Names.Check(value, "queue name") is { } invalid)
            throw new ArgumentException($"{option}: {invalid}");
        names.Add(value);
        return parsed;
    }

    private static Akka.Configuration.Config ReadConfig(string file)
    {
        if (!File.Exists(file))
            throw new ArgumentException($"--config: no file '{file}'");
        try
        {
            return Akka.Configuration.ConfigurationFactory.ParseString(File.ReadAllText(file));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ArgumentException($"--config: '{file}' is not HOCON: {e.Message}");
        }
    }

    private static IPAddress AddressOf(string option, string value) =>
        IPAddress.TryParse(value, out var address) ? address : throw new ArgumentException($"{option}: '{value}' is not an IP address");

    private static int PortOf(string option, string value) => Int(option, value, 0, 65535);

    private static int Int(string option, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new ArgumentException($"{option}: '{value}' is not a whole number from {min} to {max}");

    private static FailoverProfile ParseProfile(string value) => value switch
    {
        "production" => FailoverProfile.Production,
        "fast" => FailoverProfile.Fast,
        "default" => FailoverProfile.AkkaDefaults,
        _ => throw new ArgumentException($"--profile: unknown profile '{value}' (production, fast or default)"),
    };
}
