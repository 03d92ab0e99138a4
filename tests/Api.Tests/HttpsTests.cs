using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>
/// HTTPS from Kestrel's own certificate settings (PEM files named in configuration), HTTP/1.1 and
/// HTTP/2 on the same port (ALPN): each protocol asked for exactly is the one that answers, and the
/// whole API works on both, bytes included.
/// </summary>
public sealed class HttpsTests
{
    [Fact]
    public async Task The_api_serves_https_over_http_1_1_and_http_2_from_a_configured_certificate()
    {
        using var data = new TempDirectory();
        var (certificate, key, thumbprint) = WriteCertificate(data.Path);
        var httpsPort = GlanceFactory.FreeTcpPort();
        await using var service = await ServiceProcess.StartAsync(Path.Combine(data.Path, "data"), new Dictionary<string, string>
        {
            ["Kestrel:Certificates:Default:Path"] = certificate,
            ["Kestrel:Certificates:Default:KeyPath"] = key,
        }, alsoListen: $"https://127.0.0.1:{httpsPort}");
        using var https = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            SslOptions = { RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.GetCertHashString(HashAlgorithmName.SHA256) == thumbprint },
        })
        {
            BaseAddress = new Uri($"https://127.0.0.1:{httpsPort}"),
            Timeout = TimeSpan.FromSeconds(30),
        };

        var bytes = RandomNumberGenerator.GetBytes(3 << 20);
        var md5 = Convert.ToHexStringLower(MD5.HashData(bytes));
        foreach (var version in new[] { HttpVersion.Version20, HttpVersion.Version11 })
        {
            using var created = await SendAsync(https, version, HttpMethod.Post, "/v2/images",
                new StringContent("""{"name": "over https", "disk_format": "raw", "container_format": "bare"}""", MediaTypeHeaderValue.Parse("application/json")));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal(version, created.Version);
            using var image = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
            var id = image.RootElement.GetProperty("id").GetString();

            var body = new ByteArrayContent(bytes);
            body.Headers.ContentType = MediaTypeHeaderValue.Parse("application/octet-stream");
            using var uploaded = await SendAsync(https, version, HttpMethod.Put, $"/v2/images/{id}/file", body);
            Assert.Equal(HttpStatusCode.NoContent, uploaded.StatusCode);
            Assert.Equal(version, uploaded.Version);

            using var downloaded = await SendAsync(https, version, HttpMethod.Get, $"/v2/images/{id}/file");
            Assert.Equal(HttpStatusCode.OK, downloaded.StatusCode);
            Assert.Equal(version, downloaded.Version);
            Assert.Equal(md5, Convert.ToHexStringLower(MD5.HashData(await downloaded.Content.ReadAsByteArrayAsync())));
        }
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient http, Version version, HttpMethod method, string path, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content, Version = version, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        Persona.P1.Apply(request);
        return http.SendAsync(request);
    }

    /// <summary>A self-signed P-256 certificate for 127.0.0.1 as PEM files; its SHA-256 thumbprint.</summary>
    private static (string Certificate, string Key, string Thumbprint) WriteCertificate(string directory)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var certificatePath = Path.Combine(directory, "api.pem");
        var keyPath = Path.Combine(directory, "api.key");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certificatePath, keyPath, certificate.GetCertHashString(HashAlgorithmName.SHA256));
    }
}
