using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Glance.Api.Tests.Support;
using Xunit.Abstractions;

namespace Glance.Api.Tests;

/// <summary>
/// <c>kill -9</c> of the real service process during concurrent uploads and patches, then a
/// restart on the same data directory, several rounds: every acknowledged write is there, no
/// patch is half applied, no checksum is wrong, no image is left in <c>saving</c>, and no bytes
/// are left that no image owns.
/// </summary>
public sealed class CrashTests(ITestOutputHelper output)
{
    // A kill catches some patch between its two writes about every other time (measured): five make a miss rare.
    private const int Rounds = 5;
    // A crash falls between a patch's two writes for about one patch in thirty in flight (measured):
    // many concurrent patches make each kill likely to catch some.
    private const int PatchImages = 48;
    private const int UploadWorkers = 4;
    private const int Chunk = 64 << 10;
    private static readonly Persona Owner = Persona.P1;

    [Fact]
    public async Task Acknowledged_writes_survive_kill_9_and_nothing_is_half_done()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var total = Stopwatch.StartNew();
        using var directory = new TempDirectory();
        var data = Path.Combine(directory.Path, "data");
        var suite = GlanceClient.Unique("crash");

        var service = await ServiceProcess.StartAsync(data);
        try
        {
            // Each patch image has one writer, so "the acknowledged N or a later one" is well defined.
            var patched = new List<PatchedImage>();
            for (var i = 0; i < PatchImages; i++)
            {
                var id = Expect.Str(await service.Client.CreateImageAsync(Owner, new { suite, name = "0", k = "0" }), "id");
                patched.Add(new PatchedImage(id));
            }
            var uploads = new ConcurrentQueue<UploadedImage>();

            for (var round = 1; round <= Rounds; round++)
            {
                var before = uploads.Count;
                using var stop = new CancellationTokenSource();
                var workers = patched.Select(p => PatchLoopAsync(service.Http, p, stop.Token))
                    .Concat(Enumerable.Range(0, UploadWorkers).Select(_ => UploadLoopAsync(service.Http, suite, uploads, random.Next(), stop.Token)))
                    .ToList();
                // Kill at a random moment once the load runs at full speed (the restarted service warms up first).
                var started = patched.Select(p => p.Acknowledged).ToList();
                var warmUp = Stopwatch.StartNew();
                while (patched.Select((p, i) => p.Acknowledged - started[i]).Min() < 2 && warmUp.Elapsed < TimeSpan.FromSeconds(10))
                {
                    await Task.Delay(20);
                }
                var killAfter = warmUp.Elapsed + TimeSpan.FromMilliseconds(random.Next(1000));
                await Task.Delay(killAfter - warmUp.Elapsed);
                await service.KillAsync();
                stop.Cancel();
                await Task.WhenAll(workers);
                output.WriteLine($"round {round}: killed after {killAfter.TotalMilliseconds:F0} ms; " +
                    $"{patched.Select((p, i) => p.Acknowledged - started[i]).Sum()} patches acknowledged; " +
                    $"uploads acknowledged {uploads.Skip(before).Count(u => u.Acknowledged)} of {uploads.Count - before} started");

                await service.DisposeAsync();
                service = await ServiceProcess.StartAsync(data);
                await VerifyAsync(service, data, suite, patched, uploads, round);
            }
        }
        finally
        {
            await service.DisposeAsync();
        }
        output.WriteLine($"total {total.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>Everything the crash may not have broken, as seen after the restart.</summary>
    private static async Task VerifyAsync(ServiceProcess service, string data, string suite,
        List<PatchedImage> patched, IEnumerable<UploadedImage> uploads, int round)
    {
        var api = service.Client;
        var problems = new List<string>();
        foreach (var image in patched)
        {
            var shown = await api.ShowImageAsync(image.Id, Owner);
            var name = Expect.Str(shown, "name");
            var k = Expect.Str(shown, "k");
            if (name != k)
            {
                problems.Add($"image {image.Id}: half-applied patch, name={name} k={k} (acknowledged {image.Acknowledged}, last sent {image.Sent})");
            }
            var stored = int.Parse(k, System.Globalization.CultureInfo.InvariantCulture);
            if (stored < image.Acknowledged || stored > image.Sent)
            {
                problems.Add($"image {image.Id}: k={k}, but patch {image.Acknowledged} was acknowledged and {image.Sent} the last sent");
            }
            // Both agree now (or the failure is recorded): the next round goes on from what is stored.
            image.Acknowledged = image.Sent = Math.Max(stored, int.TryParse(name, out var n) ? n : 0);
        }

        var activeKeys = new Dictionary<string, UploadedImage>(StringComparer.Ordinal);
        foreach (var image in uploads)
        {
            var shown = await api.ShowImageAsync(image.Id, Owner);
            var status = Expect.Str(shown, "status");
            if (status == "active")
            {
                var checksum = Expect.Str(shown, "checksum");
                if (checksum != image.Md5 || shown.GetProperty("size").GetInt64() != image.Length)
                {
                    problems.Add($"image {image.Id}: active with checksum {checksum} size {shown.GetProperty("size")}, sent {image.Md5} size {image.Length}");
                }
                activeKeys[image.Id.Replace("-", "", StringComparison.Ordinal)] = image;
                // Seen active once: from now on it must stay so.
                image.Acknowledged = true;
            }
            else if (image.Acknowledged)
            {
                problems.Add($"image {image.Id}: upload acknowledged (204) but the image is {status}");
            }
            else if (status != "queued")
            {
                problems.Add($"image {image.Id}: unacknowledged upload left the image {status} (expected queued, or active with the bytes sent)");
            }
        }

        var saving = await api.GetAsync($"/v2/images?suite={suite}&status=saving", Owner);
        Expect.Status(saving, 200);
        problems.AddRange(GlanceClient.Ids(saving.Json).Select(id => $"image {id} listed in saving"));

        // Bytes live in <data>/images as "<image id, no dashes>-<upload id>"; an active image owns exactly one file.
        var files = Directory.GetFiles(Path.Combine(data, "images")).Select(Path.GetFileName).OfType<string>().ToList();
        foreach (var file in files)
        {
            var owner = file.Split('-')[0];
            if (!activeKeys.TryGetValue(owner, out var image))
            {
                problems.Add($"orphan bytes: {file} ({new FileInfo(Path.Combine(data, "images", file)).Length} bytes) belongs to no active image");
                continue;
            }
            var md5 = Convert.ToHexStringLower(MD5.HashData(File.ReadAllBytes(Path.Combine(data, "images", file))));
            if (md5 != image.Md5)
            {
                problems.Add($"image {image.Id}: stored file {file} has md5 {md5}, sent {image.Md5}");
            }
        }
        foreach (var (key, image) in activeKeys)
        {
            var count = files.Count(f => f.StartsWith(key + "-", StringComparison.Ordinal));
            if (count != 1)
            {
                problems.Add($"image {image.Id}: active with {count} files in the store");
            }
        }
        // The download is what clients check; one image of each round is enough.
        foreach (var image in activeKeys.Values.Take(3))
        {
            using var response = await service.Http.SendAsync(Request(HttpMethod.Get, $"/v2/images/{image.Id}/file"));
            var body = await response.Content.ReadAsByteArrayAsync();
            if (response.StatusCode != HttpStatusCode.OK || Convert.ToHexStringLower(MD5.HashData(body)) != image.Md5)
            {
                problems.Add($"image {image.Id}: download {(int)response.StatusCode}, {body.Length} bytes, not the bytes sent");
            }
        }

        Assert.True(problems.Count == 0, $"after kill round {round}:\n{string.Join('\n', problems)}\n--- service log ---\n{service.RecentLog}");
    }

    /// <summary>[replace /name N, add /k N] on one image, N counting up, until stopped.</summary>
    private static async Task PatchLoopAsync(HttpClient http, PatchedImage image, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var n = image.Sent + 1;
            image.Sent = n;
            var value = n.ToString(System.Globalization.CultureInfo.InvariantCulture);
            using var request = Request(HttpMethod.Patch, $"/v2/images/{image.Id}");
            request.Content = GlanceClient.Body(
                $$"""[{"op":"replace","path":"/name","value":"{{value}}"},{"op":"add","path":"/k","value":"{{value}}"}]""",
                GlanceClient.PatchV21);
            try
            {
                using var response = await http.SendAsync(request, stop);
                if (response.IsSuccessStatusCode)
                {
                    image.Acknowledged = n;
                }
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
                return; // The service died: this patch was not acknowledged.
            }
        }
    }

    /// <summary>
    /// Creates an image and uploads 2 to 4 MiB to it, again and again until stopped; the bytes go
    /// in small paced chunks so that a kill can fall mid-upload.
    /// </summary>
    private static async Task UploadLoopAsync(HttpClient http, string suite, ConcurrentQueue<UploadedImage> uploads, int seed, CancellationToken stop)
    {
        var random = new Random(seed);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                using var create = Request(HttpMethod.Post, "/v2/images");
                create.Content = GlanceClient.Body(GlanceClient.Json(new { suite, disk_format = "raw", container_format = "bare" }), "application/json");
                string id;
                using (var created = await http.SendAsync(create, stop))
                {
                    if (created.StatusCode != HttpStatusCode.Created)
                    {
                        return;
                    }
                    id = JsonDocument.Parse(await created.Content.ReadAsStringAsync(stop)).RootElement.GetProperty("id").GetString()!;
                }
                var bytes = new byte[(2 << 20) + random.Next(2 << 20)];
                random.NextBytes(bytes);
                var image = new UploadedImage(id, Convert.ToHexStringLower(MD5.HashData(bytes)), bytes.Length);
                uploads.Enqueue(image);
                using var request = Request(HttpMethod.Put, $"/v2/images/{id}/file");
                request.Content = new PacedContent(bytes);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                using var response = await http.SendAsync(request, stop);
                image.Acknowledged = response.StatusCode == HttpStatusCode.NoContent;
            }
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            // The service died: the request in flight was not acknowledged.
        }
    }

    private static HttpRequestMessage Request(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, path);
        Owner.Apply(request);
        return request;
    }

    private sealed class PatchedImage(string id)
    {
        public string Id { get; } = id;
        public int Sent { get; set; }
        public int Acknowledged { get; set; }
    }

    private sealed class UploadedImage(string id, string md5, long length)
    {
        public string Id { get; } = id;
        public string Md5 { get; } = md5;
        public long Length { get; } = length;
        public bool Acknowledged { get; set; }
    }

    /// <summary>A body sent 64 KiB at a time with a short pause, so an upload lasts long enough to be cut.</summary>
    private sealed class PacedContent(byte[] bytes) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var offset = 0; offset < bytes.Length; offset += Chunk)
            {
                await stream.WriteAsync(bytes.AsMemory(offset, Math.Min(Chunk, bytes.Length - offset)));
                await Task.Delay(2);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = bytes.Length;
            return true;
        }
    }
}
