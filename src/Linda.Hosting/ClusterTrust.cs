using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Akka.Event;

namespace Linda.Hosting;

/// <summary>
/// Which certificates a node accepts from its peers (<see cref="LindaTlsOptions.Load"/> makes it): those
/// issued by the cluster's authority, checked against that authority alone (not the operating system's
/// trust store), within their validity period; or, without an authority, this node's own certificate.
/// Akka.Remote calls <see cref="Validate"/> on both ends of every connection.
/// </summary>
public sealed class ClusterTrust
{
    private readonly TimeProvider _time;

    internal ClusterTrust(X509Certificate2 certificate, X509Certificate2? authority, TimeProvider time)
    {
        Certificate = certificate;
        Authority = authority;
        _time = time;
    }

    /// <summary>This node's certificate, with its private key: what it presents to its peers.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The authority a peer's certificate must chain to, or null: a peer must present <see cref="Certificate"/> itself.</summary>
    public X509Certificate2? Authority { get; }

    /// <summary>What this node accepts, in a sentence (for its start-up log line).</summary>
    public string Rule => Authority is { } authority
        ? $"peers must present a certificate issued by {Describe(authority)}"
        : $"peers must present this node's own certificate (thumbprint {Certificate.Thumbprint})";

    /// <summary>
    /// Why <paramref name="peer"/>'s certificate is refused, or null when it is accepted.
    /// <paramref name="presented"/> is the chain the peer sent, when there is one (its intermediates help build the chain; they are never trusted themselves).
    /// </summary>
    public string? Refusal(X509Certificate2? peer, X509Chain? presented)
    {
        if (peer is null)
            return "it presented no certificate";
        var now = _time.GetUtcNow();
        if (Authority is null)
        {
            if (!string.Equals(peer.Thumbprint, Certificate.Thumbprint, StringComparison.OrdinalIgnoreCase))
                return $"its certificate {Describe(peer)} is not the cluster's certificate (thumbprint {Certificate.Thumbprint}), the only one this node accepts";
            return now < peer.NotBefore.ToUniversalTime() || now > peer.NotAfter.ToUniversalTime()
                ? $"its certificate {Describe(peer)} is valid only from {peer.NotBefore.ToUniversalTime():u} to {peer.NotAfter.ToUniversalTime():u}"
                : null;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Authority);
        // A private authority publishes no revocation lists: to take a certificate back, issue the
        // cluster a new authority (the README says so).
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                if (!string.Equals(element.Certificate.Thumbprint, peer.Thumbprint, StringComparison.OrdinalIgnoreCase))
                    chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }
        if (chain.Build(peer))
            return null;
        var problems = string.Join(", ", chain.ChainStatus.Select(s => s.Status).Distinct());
        return $"its certificate {Describe(peer)} is not issued by {Describe(Authority)}, the authority this node trusts ({problems})";
    }

    /// <summary>
    /// The check Akka.Remote runs on the peer's certificate at each end of a connection, in the shape of
    /// <c>DotNettySslSetup</c>'s custom validator: a refusal is logged, with the reason, on this node.
    /// </summary>
    public bool Validate(X509Certificate2? peer, X509Chain? presented, string remote, SslPolicyErrors errors, ILoggingAdapter log)
    {
        // errors is what the system's own checks found (against the operating system's trust store and,
        // outbound, the host name); Linda's rule replaces them: the cluster's authority, whatever the host.
        if (Refusal(peer, presented) is not { } why)
            return true;
        log.Error("linda: TLS: refused the connection with {0}: {1}", remote, why);
        return false;
    }

    /// <summary>A certificate in a few words: subject, issuer (or "self-signed") and thumbprint.</summary>
    public static string Describe(X509Certificate2 certificate) =>
        certificate.Subject == certificate.Issuer
            ? $"'{certificate.Subject}' (self-signed, thumbprint {certificate.Thumbprint})"
            : $"'{certificate.Subject}' (issued by '{certificate.Issuer}', thumbprint {certificate.Thumbprint})";
}
