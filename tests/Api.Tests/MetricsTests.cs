using System.Globalization;
using System.Text.RegularExpressions;
using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>
/// The instruments read one process-wide meter, so the tests that count run alone (not beside
/// other test classes that move bytes).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "telemetry";
}

/// <summary>
/// <c>/metrics</c> in Prometheus' text format: the service's own counters move by exactly what the
/// requests did (bytes in and out, hashing, errors by status, images by status), next to ASP.NET
/// Core's and Orleans' meters; no identity needed unless <c>Glance:Metrics:RequireAdmin</c>.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed partial class MetricsTests
{
    [Fact]
    public async Task An_upload_and_a_download_move_the_byte_counters_by_their_size()
    {
        await using var server = new GlanceServer(_ => new Dictionary<string, string?> { ["Glance:Identity:UseDefaultIdentity"] = "false" });
        var api = server.Client;
        var before = await ScrapeAsync(api);
        var data = ImageBytes.Bytes(3 * 1024 * 1024 + 12345);

        var id = await api.CreateUploadableAsync(Persona.P1);
        await api.UploadOkAsync(id, Persona.P1, data);
        var download = await api.DownloadAsync(id, Persona.P1);
        Assert.Equal(200, download.Code);
        Assert.Equal(data.Length, download.Bytes.Length);
        var ranged = await api.DownloadAsync(id, Persona.P1, new Dictionary<string, string> { ["Range"] = "bytes=0-99" });
        Assert.Equal(206, ranged.Code);

        var after = await ScrapeAsync(api);
        Assert.Equal(data.Length, after.Value("glance_data_received_bytes_total") - before.Value("glance_data_received_bytes_total"));
        Assert.Equal(data.Length + 100, after.Value("glance_data_sent_bytes_total") - before.Value("glance_data_sent_bytes_total"));
        Assert.Equal(1, after.Value("glance_hash_duration_seconds_count") - before.Value("glance_hash_duration_seconds_count"));
        Assert.True(after.Value("glance_hash_duration_seconds_sum") > before.Value("glance_hash_duration_seconds_sum"));
        Assert.Equal(0, after.Value("glance_uploads_active"));
        Assert.Equal(0, after.Value("glance_downloads_active"));
        // Images by status, from this server's catalog: the one image is active.
        Assert.Equal(1, after.Value("glance_images", "status=\"active\""));
        Assert.Equal(0, after.Value("glance_images", "status=\"queued\""));
        // ASP.NET Core's and Orleans' meters are there too.
        Assert.True(after.Value("http_server_request_duration_seconds_count") > before.Value("http_server_request_duration_seconds_count"));
        Assert.Contains(after.Names, n => n.StartsWith("orleans_", StringComparison.Ordinal));

        // A new image is counted as queued at the next scrape.
        await api.CreateUploadableAsync(Persona.P1);
        var scrape = await ScrapeAsync(api);
        Assert.Equal(1, scrape.Value("glance_images", "status=\"queued\""));
        // Entries per catalog shard (the default layout's 4): the two images, wherever they landed.
        Assert.Equal(2, Enumerable.Range(0, 4).Sum(shard => scrape.Value("glance_catalog_shard_entries", $"shard=\"{shard}\"")));
        Assert.Equal(0, scrape.Value("glance_catalog_shard_entries", "shard=\"4\""));
    }

    [Fact]
    public async Task Errors_are_counted_by_status_code()
    {
        await using var server = new GlanceServer();
        var api = server.Client;
        var before = await ScrapeAsync(api);

        Expect.Error(await api.GetAsync($"/v2/images/{Guid.NewGuid()}", Persona.P1), 404);
        Expect.Error(await api.GetAsync($"/v2/images/{Guid.NewGuid()}", Persona.P1), 404);
        var id = await api.CreateUploadableAsync(Persona.P1);
        Expect.Error(await api.UploadAsync(id, Persona.P1, ImageBytes.Octets([1, 2, 3], "text/plain")), 415);

        var after = await ScrapeAsync(api);
        Assert.Equal(2, after.Value("glance_errors_total", "http_response_status_code=\"404\"") - before.Value("glance_errors_total", "http_response_status_code=\"404\""));
        Assert.Equal(1, after.Value("glance_errors_total", "http_response_status_code=\"415\"") - before.Value("glance_errors_total", "http_response_status_code=\"415\""));
        // Successes are not errors.
        Assert.Equal(0, after.Value("glance_errors_total", "http_response_status_code=\"201\""));
    }

    [Fact]
    public async Task Metrics_can_be_made_admin_only()
    {
        await using var server = new GlanceServer(_ => new Dictionary<string, string?>
        {
            ["Glance:Identity:UseDefaultIdentity"] = "false",
            ["Glance:Metrics:RequireAdmin"] = "true",
        });
        var api = server.Client;
        Expect.Error(await api.GetAsync("/metrics", null), 401);
        Expect.Error(await api.GetAsync("/metrics", Persona.P1), 403);
        var scrape = Expect.Status(await api.GetAsync("/metrics", Persona.Admin), 200);
        Assert.Contains("glance_images", scrape.Text);
    }

    /// <summary>GET /metrics without identity, parsed.</summary>
    internal static async Task<Scrape> ScrapeAsync(GlanceClient api)
    {
        var response = Expect.Status(await api.GetAsync("/metrics", null), 200);
        Assert.StartsWith("text/plain", response.Message.Content.Headers.ContentType?.MediaType);
        return new Scrape(response.Text);
    }

    /// <summary>One scrape in Prometheus' text format.</summary>
    internal sealed partial class Scrape(string text)
    {
        /// <summary>The sample names present.</summary>
        public IReadOnlySet<string> Names { get; } = Samples(text).Select(s => s.Name).ToHashSet();

        /// <summary>The sum of the samples named <paramref name="name"/> whose labels contain <paramref name="label"/> (0 when none).</summary>
        public double Value(string name, string? label = null) =>
            Samples(text).Where(s => s.Name == name && (label is null || s.Labels.Contains(label, StringComparison.Ordinal))).Sum(s => s.Value);

        private static IEnumerable<(string Name, string Labels, double Value)> Samples(string text)
        {
            foreach (var line in text.Split('\n'))
            {
                if (SampleLine().Match(line) is { Success: true } m)
                {
                    yield return (m.Groups[1].Value, m.Groups[2].Value, double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture));
                }
            }
        }

        [GeneratedRegex(@"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")]
        private static partial Regex SampleLine();
    }
}
