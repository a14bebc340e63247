using Akka.Cluster;
using Akka.Configuration;
using Akka.Event;
using Akka.Hosting;
using Akka.Remote.Transport.DotNetty;

namespace Linda.Hosting;

/// <summary>TLS between the nodes of a Linda cluster, on Akka.Remote's DotNetty transport.</summary>
public static class LindaTlsHostingExtensions
{
    /// <summary>The HOCON that turns TLS on: mutual authentication, and no switch that turns validation off.</summary>
    public const string TlsHocon = """
        akka.remote.dot-netty.tcp.enable-ssl = on
        akka.remote.dot-netty.tcp.ssl.suppress-validation = off
        akka.remote.dot-netty.tcp.ssl.require-mutual-authentication = on
        """;

    /// <summary>The scheme of a node's address when its remoting runs over TLS: <c>akka.ssl.tcp://linda@HOST:PORT</c>.</summary>
    public const string Protocol = "akka.ssl.tcp";

    /// <summary>
    /// Runs this node's remoting over TLS with mutual authentication (<see cref="LindaTlsOptions"/>): it
    /// presents its certificate on every connection, in and out, and accepts a peer only if the peer's
    /// certificate passes <see cref="ClusterTrust"/>; a refused peer gets no message through, and the
    /// refusal is logged with the reason. Its address becomes <c>akka.ssl.tcp://...</c>, and so must the
    /// seed nodes' addresses. Call it with <c>WithRemoting</c>; <see cref="LindaOptions.Tls"/> calls it for
    /// <c>WithLinda</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The options are not valid, or this node's certificate would be refused by the others.</exception>
    public static AkkaConfigurationBuilder WithLindaTls(this AkkaConfigurationBuilder builder, LindaTlsOptions options)
    {
        var trust = options.Load();
        builder.AddHocon(ConfigurationFactory.ParseString(TlsHocon), HoconAddMode.Prepend);
        // The setup's certificate and validator take precedence over any ssl.certificate keys in HOCON.
        builder.AddSetup(new DotNettySslSetup(trust.Certificate, suppressValidation: false, requireMutualAuthentication: true,
            validateCertificateHostname: false, customValidator: trust.Validate));
        builder.AddStartup((system, _) =>
        {
            var self = Cluster.Get(system).SelfAddress;
            if (self.Protocol != Protocol)
                throw new InvalidOperationException($"linda: TLS was asked for, but this node's address is {self}: a later configuration turned akka.remote.dot-netty.tcp.enable-ssl off");
            system.Log.Info("linda: TLS between nodes on {0}: this node presents {1}; {2} (mutual TLS)", self, ClusterTrust.Describe(trust.Certificate), trust.Rule);
        });
        return builder;
    }
}
