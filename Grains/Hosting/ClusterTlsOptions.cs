using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Connections.Security;

namespace Glance.Grains.Hosting;

/// <summary>
/// Mutual TLS inside the azure profile's cluster, bound from <c>Glance:Azure:Tls</c>: every
/// silo-to-silo and client-to-gateway connection is encrypted, and both ends must present a
/// certificate issued by the cluster's own CA. A silo reachable beyond loopback needs it unless
/// <see cref="Required"/> is false: a plain cluster lets any client that reaches a gateway call
/// every grain as anyone.
/// </summary>
public sealed class ClusterTlsOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Glance:Azure:Tls";

    /// <summary>This node's certificate (PEM); setting it turns TLS on.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>Its private key (PEM).</summary>
    public string? KeyFile { get; set; }

    /// <summary>The cluster's CA certificate (PEM): the only issuer a remote certificate may chain to.</summary>
    public string? CaFile { get; set; }

    /// <summary>
    /// Whether a node may start without TLS. Unset (the default): a silo that advertises an address
    /// beyond loopback does not start without it (<see cref="ProblemFor"/>), one on loopback does
    /// (one machine, nothing else can reach it). True: no silo or API node starts without it.
    /// False: plain anywhere (keep silo and gateway ports on a private network), with a warning at
    /// the start of a silo reachable beyond loopback.
    /// </summary>
    public bool? Required { get; set; }

    /// <summary>True when TLS is configured.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(CertificateFile);

    /// <summary>Why the options cannot be used, or null when they can.</summary>
    public string? Problem() =>
        !Enabled ? (Required == true ? $"{Section}:Required is true, but {Section}:CertificateFile is not set." : null)
        : string.IsNullOrWhiteSpace(KeyFile) || string.IsNullOrWhiteSpace(CaFile) ? $"{Section}:KeyFile and {Section}:CaFile are required with {Section}:CertificateFile."
        : new[] { CertificateFile!, KeyFile!, CaFile! }.FirstOrDefault(f => !File.Exists(f)) is { } missing ? $"{Section}: file '{missing}' does not exist."
        : null;

    /// <summary>Why a silo advertising <paramref name="advertised"/> cannot start with these options, or null when it can.</summary>
    public string? ProblemFor(IPAddress advertised) =>
        Problem() ?? (!Enabled && Required is null && !IPAddress.IsLoopback(advertised)
            ? $"This silo advertises {advertised}, beyond loopback, without TLS: set {Section}:CertificateFile, :KeyFile and :CaFile (mutual TLS, the cluster's own CA), or {Section}:Required=false to run plain on a private network."
            : null);

    /// <summary>The options in <paramref name="configuration"/>, checked.</summary>
    public static ClusterTlsOptions From(Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        var options = Microsoft.Extensions.Configuration.ConfigurationBinder.Get<ClusterTlsOptions>(configuration.GetSection(Section)) ?? new ClusterTlsOptions();
        return options.Problem() is { } problem ? throw new InvalidOperationException(problem) : options;
    }

    /// <summary>This node's certificate with its key.</summary>
    public X509Certificate2 LoadCertificate()
    {
        using var pem = X509Certificate2.CreateFromPemFile(CertificateFile!, KeyFile!);
        // An ephemeral PEM key cannot serve TLS on every platform: round-trip through PKCS#12.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    // The usage the remote end's certificate must allow on this connection. Orleans' one
    // validation callback is not told which end the connection was opened from; the
    // per-direction hooks run just before the handshake, in its flow, so they say it here.
    private static readonly AsyncLocal<string?> s_remoteUsage = new();

    /// <summary>
    /// Requires a remote certificate and accepts it only when it chains to the cluster's CA and
    /// may be used for its end of the connection: a connecting client's for client
    /// authentication, a silo answering for server authentication (extended key usage; a
    /// certificate without that extension may be used for both, as in TLS itself).
    /// </summary>
    public void Configure(TlsOptions tls)
    {
        var ca = X509CertificateLoader.LoadCertificateFromFile(CaFile!);
        tls.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        tls.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        var asServer = tls.OnAuthenticateAsServer;
        tls.OnAuthenticateAsServer = (connection, options) =>
        {
            asServer?.Invoke(connection, options);
            s_remoteUsage.Value = ClientAuth;
        };
        var asClient = tls.OnAuthenticateAsClient;
        tls.OnAuthenticateAsClient = (connection, options) =>
        {
            asClient?.Invoke(connection, options);
            s_remoteUsage.Value = ServerAuth;
        };
        tls.RemoteCertificateValidation = (certificate, _, _) =>
        {
            // Should a connection ever come without its direction, either usage will do.
            string[] usages = s_remoteUsage.Value is { } usage ? [usage] : [ClientAuth, ServerAuth];
            if (!usages.Any(u => AllowsUsage(certificate, u)))
            {
                return false;
            }
            // Silos are reached by address, not name: trust comes from the issuer alone.
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(certificate);
        };
    }

    private static bool AllowsUsage(X509Certificate2 certificate, string usage) =>
        certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault() is not { } extension
        || extension.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Any(oid => oid.Value == usage);
}

/// <summary>
/// Says at start, once, that a silo reachable beyond loopback runs without TLS (the operator set
/// Required=false): any client that can reach its gateway may then call every grain as anyone.
/// </summary>
internal sealed class PlainClusterWarning(IPAddress advertised, ILogger<PlainClusterWarning> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!IPAddress.IsLoopback(advertised))
        {
            logger.LogWarning(
                "This silo advertises {Address} without TLS ({Section}:Required=false): any client that reaches its gateway can call every grain as any caller. Set {Section}:CertificateFile, :KeyFile and :CaFile in production.",
                advertised, ClusterTlsOptions.Section, ClusterTlsOptions.Section);
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
