using System.Diagnostics;
using System.Text.Json;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Glance.Grains.Storage;
using Glance.Grains.Templates;

namespace Glance.Grains.Tests;

/// <summary>Helpers of the server-template tests: versions, active images, cloud-init's schema check.</summary>
public static class TemplatesSupport
{
    /// <summary>A version naming <paramref name="imageId"/> with the given parameters, template body and extras.</summary>
    public static string Version(Guid imageId, object? parameters = null, string? body = null, object? requirements = null, object? outputs = null) =>
        JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["image"] = new { id = imageId },
            ["requirements"] = requirements,
            ["parameters"] = parameters ?? new { },
            ["configuration"] = new { format = "cloud-config", template = body ?? "#cloud-config\nhostname: {{ template.name }}\n" },
            ["outputs"] = outputs,
        }.Where(p => p.Value is not null).ToDictionary());

    /// <summary>A version selecting its image by <paramref name="selector"/>.</summary>
    public static string SelectorVersion(object selector, string? body = null) =>
        JsonSerializer.Serialize(new
        {
            image = new { selector },
            configuration = new { format = "cloud-config", template = body ?? "#cloud-config\nhostname: {{ image.name }}\n" },
        });

    /// <summary>Creates a template owned by the caller's project.</summary>
    public static Task<TemplateView> CreateTemplateAsync(this GlanceTestCluster cluster, Caller caller, string versionJson,
        ImageVisibility visibility = ImageVisibility.Private, string name = "t", bool isProtected = false, params string[] tags) =>
        cluster.Client.GetGrain<ITemplateGrain>(Guid.NewGuid()).CreateAsync(caller, new TemplateDraft(name, null, visibility, [.. tags], isProtected, versionJson));

    /// <summary>One template grain.</summary>
    public static ITemplateGrain Template(this GlanceTestCluster cluster, Guid id) => cluster.Client.GetGrain<ITemplateGrain>(id);

    /// <summary>Renders through the render worker.</summary>
    public static Task<RenderResult> RenderAsync(this GlanceTestCluster cluster, Caller caller, Guid id, object? parameters = null, string version = "$default") =>
        cluster.Client.GetGrain<ITemplateRenderGrain>(0).RenderAsync(caller, id, new RenderRequest(version, JsonSerializer.Serialize(parameters ?? new { })));

    /// <summary>An active image (data uploaded) of the caller's project with the given attributes and properties.</summary>
    public static async Task<ImageRecord> ActiveImageAsync(this GlanceTestCluster cluster, Caller owner, params (string Name, object? Value)[] attributes)
    {
        var draft = attributes.Aggregate(ImageDraft.Empty.With("disk_format", "raw").With("container_format", "bare"), (d, a) => d.With(a.Name, a.Value));
        var image = await cluster.CreateAsync(owner, draft);
        var grain = cluster.Image(image.Id);
        var ticket = await grain.BeginUploadAsync(owner, UploadTarget.File, 3);
        using (var source = new MemoryStream([1, 2, 3]))
        {
            await new FileImageDataStore(Path.Combine(cluster.DataDirectory, "images")).WriteAsync(ticket.DataKey, source, CancellationToken.None);
        }
        return await grain.CompleteUploadAsync(ticket.UploadId, new UploadedData(3, "m", "s"));
    }

    /// <summary>
    /// Asserts that cloud-init (Debian's, installed by test.sh) accepts <paramref name="userData"/> as
    /// cloud-config. Fails when cloud-init is missing: the check is the point of these tests.
    /// </summary>
    public static async Task AssertValidCloudConfigAsync(string userData)
    {
        var file = Path.Combine(Path.GetTempPath(), $"glance-cloud-config-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, userData);
        try
        {
            Process process;
            try
            {
                process = Process.Start(new ProcessStartInfo("cloud-init", ["schema", "--config-file", file])
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                })!;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                Assert.Fail("cloud-init is not installed (test.sh installs Debian's cloud-init, disabled at boot).");
                return;
            }
            var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0, $"cloud-init schema refused the rendered user_data:\n{output}\n---\n{userData}");
        }
        finally
        {
            File.Delete(file);
        }
    }
}
